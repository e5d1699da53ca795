// The insights page: filters in the query string, numbers from /insights/api (API key as for Studio), charts by
// Chart.js. Every value from the server is put in as text, never as HTML (vendor error messages are untrusted).
(function () {
    "use strict";
    const config = window.insightsConfig;
    const keyStorage = "smsactivities.apiKey"; // shared with the Studio page
    const ranges = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
    const refreshMs = 2000;
    const $ = id => document.getElementById(id);
    const charts = {};
    const state = { timer: null, loading: false };

    function apiKey() { return config.apiKey || localStorage.getItem(keyStorage); }

    async function api(path) {
        const response = await fetch(config.api + path, { headers: { "Authorization": "ApiKey " + apiKey() } });
        if (response.status === 401) throw new Error("the API key was refused: enter the server's key (Server:ApiKey) above");
        if (!response.ok) {
            const problem = await response.json().catch(() => null);
            throw new Error((problem && (problem.detail || problem.title)) || ("HTTP " + response.status));
        }
        return response.json();
    }

    function el(tag, text, attrs) {
        const node = document.createElement(tag);
        if (text !== undefined && text !== null) node.textContent = String(text);
        for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
        return node;
    }

    function fillTable(table, headers, rows) {
        table.replaceChildren();
        const head = el("tr");
        headers.forEach(h => head.append(el("th", h.label, h.num ? { class: "num" } : {})));
        table.append(head);
        if (rows.length === 0) {
            const tr = el("tr");
            tr.append(el("td", "none", { colspan: String(headers.length), class: "muted" }));
            table.append(tr);
        }
        for (const row of rows) {
            const tr = el("tr");
            headers.forEach((h, i) => {
                const td = el("td", null, h.num ? { class: "num" } : {});
                const value = row[i];
                if (value instanceof Node) td.append(value); else td.textContent = value === null || value === undefined ? "—" : String(value);
                tr.append(td);
            });
            table.append(tr);
        }
    }

    const pct = v => v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";
    const secs = v => v === null || v === undefined ? "—" : v.toFixed(2) + " s";
    const money = v => Number(v || 0).toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
    // A .NET TimeSpan as JSON ("d.hh:mm:ss.fffffff").
    const durationMs = text => {
        const m = /^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(text || "");
        return m ? (((+(m[1] || 0)) * 24 + (+m[2])) * 60 + (+m[3])) * 60e3 + parseFloat(m[4]) * 1e3 : NaN;
    };
    const duration = text => {
        if (!text) return null;
        const ms = durationMs(text);
        if (isNaN(ms)) return text;
        const s = Math.round(ms / 1000);
        return s >= 3600 ? Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min" : s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
    };

    function filters() {
        return {
            range: $("f-range").value,
            vendor: $("f-vendor").value,
            definition: $("f-definition").value.trim(),
            campaign: $("f-campaign").value,
        };
    }

    function readUrl() {
        const q = new URLSearchParams(location.search);
        if (q.get("range") && ranges[q.get("range")]) $("f-range").value = q.get("range");
        if (q.get("vendor") !== null) $("f-vendor").value = q.get("vendor");
        if (q.get("definition") !== null) $("f-definition").value = q.get("definition");
        state.wantedCampaign = q.get("campaign") || "";
        state.wantedRecord = q.get("record");
    }

    function writeUrl() {
        const f = filters();
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
        history.replaceState(null, "", "?" + q.toString());
    }

    function rangeQuery(f) {
        const to = new Date();
        const from = new Date(to.getTime() - ranges[f.range]);
        const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
        if (f.vendor) q.set("vendor", f.vendor);
        if (f.definition) q.set("definition", f.definition);
        return q.toString();
    }

    function chart(id, type, data, options) {
        if (typeof Chart === "undefined") return; // the library is missing: the tables still show the numbers
        if (charts[id]) {
            charts[id].data = data;
            charts[id].update("none");
            return;
        }
        charts[id] = new Chart($(id), {
            type, data,
            options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, options || {}),
        });
    }

    const colors = { delivered: "#16a34a", failed: "#dc2626", rejected: "#f97316", inDoubt: "#a855f7", awaiting: "#9ca3af", sent: "#2563eb", replies: "#0891b2", optOuts: "#be185d" };
    const vendorColors = ["#2563eb", "#16a34a", "#f59e0b", "#a855f7", "#0891b2"];

    async function loadCampaigns(f) {
        const list = await api("/campaigns?" + rangeQuery(f));
        const select = $("f-campaign");
        const current = state.wantedCampaign !== undefined ? state.wantedCampaign : select.value;
        state.wantedCampaign = undefined;
        select.replaceChildren(el("option", "—", { value: "" }));
        const ids = new Set();
        for (const c of list) {
            ids.add(c.instanceId);
            select.append(el("option", `${c.instanceId} · ${c.definitionId || "?"} · ${c.messages} messages · ${new Date(c.lastSend).toLocaleTimeString()}`, { value: c.instanceId }));
        }
        // A campaign given in the address but older than the range is still shown.
        if (current && !ids.has(current)) select.append(el("option", current, { value: current }));
        select.value = current || "";
    }

    function tile(label, value, testId) {
        const div = el("div", null, { class: "tile", "data-testid": "funnel-" + testId });
        div.append(el("div", value, { class: "n" }), el("div", label, { class: "l" }));
        return div;
    }

    async function loadCampaign(f) {
        const section = $("campaign");
        if (!f.campaign) { section.hidden = true; return; }
        const q = f.vendor ? "?vendor=" + encodeURIComponent(f.vendor) : "";
        const c = await api("/campaigns/" + encodeURIComponent(f.campaign) + q);
        section.hidden = false;
        $("c-id").textContent = c.instanceId;
        $("c-definition").textContent = c.definitionId ? "(" + c.definitionId + ")" : "";
        $("c-studio").href = c.studioUrl;
        const n = c.funnel;
        $("c-bar").style.width = (c.progress.fraction * 100).toFixed(1) + "%";
        $("c-progress").textContent = c.progress.complete
            ? `complete: ${n.messages} messages settled`
            : `${(c.progress.fraction * 100).toFixed(1)}% settled (${n.rejected + n.inDoubt + n.delivered + n.failed} of ${n.messages})` +
              (c.progress.eta ? ` · ETA ${duration(c.progress.eta)}` : "") + ` · started ${new Date(c.progress.started).toLocaleTimeString()}`;
        $("c-tiles").replaceChildren(
            tile("recipients", c.recipients, "recipients"), tile("messages", n.messages, "messages"), tile("sent", n.sent, "sent"),
            tile("accepted", n.accepted, "accepted"), tile("delivered", n.delivered, "delivered"), tile("failed (report)", n.failed, "failed"),
            tile("refused at send", n.rejected, "rejected"), tile("in doubt", n.inDoubt, "indoubt"), tile("awaiting report", n.awaitingReport, "awaiting"),
            tile("replies", n.replies, "replies"), tile("opt-outs", n.optOuts, "optouts"), tile("failovers", n.failovers, "failovers"),
            tile("fees", money(n.fees), "fees"), tile("delivery rate", pct(n.deliveryRate), "rate"));
        chart("c-funnel-chart", "bar", {
            labels: ["messages", "sent", "accepted", "delivered", "failed", "refused", "in doubt", "awaiting report", "replies", "opt-outs"],
            datasets: [{
                label: "messages",
                data: [n.messages, n.sent, n.accepted, n.delivered, n.failed, n.rejected, n.inDoubt, n.awaitingReport, n.replies, n.optOuts],
                backgroundColor: [colors.sent, colors.sent, colors.sent, colors.delivered, colors.failed, colors.rejected, colors.inDoubt, colors.awaiting, colors.replies, colors.optOuts],
            }],
        }, { indexAxis: "y", plugins: { legend: { display: false } } });
        fillTable($("c-vendors"), [{ label: "vendor" }, { label: "messages", num: 1 }, { label: "delivered", num: 1 }, { label: "failed", num: 1 }, { label: "refused", num: 1 },
            { label: "in doubt", num: 1 }, { label: "rate", num: 1 }, { label: "p50", num: 1 }, { label: "p90", num: 1 }, { label: "fees", num: 1 }],
            c.vendors.map(v => [v.vendor, v.funnel.messages, v.funnel.delivered, v.funnel.failed, v.funnel.rejected, v.funnel.inDoubt, pct(v.deliveryRate),
                secs(v.latency.p50), secs(v.latency.p90), money(v.funnel.fees)]));
        fillTable($("c-steps"), [{ label: "activity" }, { label: "vendor" }, { label: "messages", num: 1 }, { label: "accepted", num: 1 }, { label: "delivered", num: 1 },
            { label: "failed", num: 1 }, { label: "refused", num: 1 }, { label: "in doubt", num: 1 }],
            c.steps.map(s => [s.activityId, s.vendor, s.messages, s.accepted, s.delivered, s.failed, s.rejected, s.inDoubt]));
        codesTable($("c-codes"), c.errorCodes);
        fillTable($("c-problems"), [{ label: "record" }, { label: "recipient" }, { label: "vendor" }, { label: "stage" }, { label: "code" }, { label: "error" }],
            c.problems.map(p => [recordLink(p.recordId), p.mobile, p.vendor, p.stage, p.code, p.error]));
        return c;
    }

    function codesTable(table, codes) {
        fillTable(table, [{ label: "vendor" }, { label: "stage" }, { label: "code" }, { label: "count", num: 1 }], codes.map(e => [e.vendor, e.stage, e.code, e.count]));
    }

    function recordLink(id) {
        const a = el("a", "#" + id, { href: "?record=" + id, "data-testid": "record-link" });
        a.addEventListener("click", e => { e.preventDefault(); showRecord(id); });
        return a;
    }

    async function showRecord(id) {
        const r = await api("/records/" + encodeURIComponent(id));
        $("r-id").textContent = "#" + r.id;
        const dl = $("r-fields");
        dl.replaceChildren();
        for (const [k, v] of Object.entries(r)) {
            if (k === "studioUrl") continue;
            dl.append(el("dt", k));
            const dd = el("dd", v === null ? "—" : v);
            if (k === "instanceId" && r.studioUrl) { dd.textContent = ""; dd.append(el("a", v, { href: r.studioUrl })); }
            dl.append(dd);
        }
        const dialog = $("record");
        if (!dialog.open) dialog.showModal();
    }

    async function loadVendors(f) {
        const v = await api("/vendors?" + rangeQuery(f));
        $("v-range").textContent = `${new Date(v.from).toLocaleString()} – ${new Date(v.to).toLocaleString()}`;
        fillTable($("v-table"), [{ label: "vendor" }, { label: "sends", num: 1 }, { label: "accepted", num: 1 }, { label: "delivered", num: 1 }, { label: "failed", num: 1 },
            { label: "refused", num: 1 }, { label: "in doubt", num: 1 }, { label: "delivery rate", num: 1 }, { label: "p50", num: 1 }, { label: "p90", num: 1 },
            { label: "p99", num: 1 }, { label: "fees", num: 1 }, { label: "failovers", num: 1 }, { label: "replies", num: 1 }, { label: "opt-outs", num: 1 }],
            v.vendors.map(x => [x.vendor, x.funnel.messages, x.funnel.accepted, x.funnel.delivered, x.funnel.failed, x.funnel.rejected, x.funnel.inDoubt,
                pct(x.deliveryRate), secs(x.latency.p50), secs(x.latency.p90), secs(x.latency.p99), money(x.funnel.fees), x.funnel.failovers, x.funnel.replies, x.funnel.optOuts]));
        const names = v.vendors.map(x => x.vendor);
        const series = (label, pick, color) => ({ label, data: v.vendors.map(x => pick(x.funnel)), backgroundColor: color });
        chart("v-outcomes-chart", "bar", {
            labels: names,
            datasets: [series("delivered", n => n.delivered, colors.delivered), series("failed", n => n.failed, colors.failed),
                series("refused", n => n.rejected, colors.rejected), series("in doubt", n => n.inDoubt, colors.inDoubt), series("awaiting report", n => n.awaitingReport, colors.awaiting)],
        }, { scales: { x: { stacked: true }, y: { stacked: true } } });
        chart("v-latency-chart", "bar", {
            labels: names,
            datasets: [["p50", "#93c5fd"], ["p90", "#3b82f6"], ["p99", "#1e3a8a"]].map(([p, color]) => ({ label: p, data: v.vendors.map(x => x.latency[p]), backgroundColor: color })),
        });
        // Every bucket of the range, empty ones too, so the time axis is even.
        const bucketMs = durationMs(v.bucketSize);
        const from = Date.parse(v.from);
        const buckets = [];
        for (let t = from; t < Date.parse(v.to); t += bucketMs) buckets.push(t);
        const sends = new Map(v.timeline.map(t => [Date.parse(t.start) + "|" + t.vendor, t.messages]));
        const long = Date.parse(v.to) - from > 86400e3;
        chart("v-timeline-chart", "line", {
            labels: buckets.map(b => long ? new Date(b).toLocaleDateString([], { month: "short", day: "numeric" }) : new Date(b).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
            datasets: names.map((name, i) => ({
                label: name, borderColor: vendorColors[i % vendorColors.length], backgroundColor: vendorColors[i % vendorColors.length], tension: .2, pointRadius: 0,
                data: buckets.map(b => sends.get(b + "|" + name) || 0),
            })),
        });
        codesTable($("v-codes"), v.errorCodes);
        return v;
    }

    async function refresh(full) {
        if (state.loading) return;
        state.loading = true;
        const started = performance.now();
        const f = filters();
        try {
            // The campaign is drawn as soon as its numbers are in, not held back by the vendor view (or the list).
            const list = full ? loadCampaigns(f) : Promise.resolve();
            const [campaign] = await Promise.all([loadCampaign(f), loadVendors(f), list]);
            writeUrl();
            const ms = Math.round(performance.now() - started);
            $("status").textContent = `updated ${new Date().toLocaleTimeString()} in ${ms} ms` + (campaign && !campaign.progress.complete ? " · live" : "");
            $("status").classList.remove("error");
            document.body.dataset.rendered = String((Number(document.body.dataset.rendered) || 0) + 1);
            document.body.dataset.renderMs = String(ms);
        } catch (e) {
            $("status").textContent = "Could not load: " + e.message;
            $("status").classList.add("error");
        } finally {
            state.loading = false;
        }
    }

    function setUpKey() {
        const form = $("key-form");
        form.hidden = !!config.apiKey;
        form.addEventListener("submit", e => {
            e.preventDefault();
            const value = $("key-input").value.trim();
            if (value) localStorage.setItem(keyStorage, value); else localStorage.removeItem(keyStorage);
            refresh(true);
        });
    }

    function start() {
        setUpKey();
        readUrl();
        for (const id of ["f-range", "f-vendor", "f-campaign"]) $(id).addEventListener("change", () => refresh(id !== "f-campaign"));
        $("f-definition").addEventListener("change", () => refresh(true));
        $("filters").addEventListener("submit", e => { e.preventDefault(); refresh(true); });
        if (!apiKey()) {
            $("status").textContent = "Enter the server's API key (configuration Server:ApiKey) above.";
            return;
        }
        if (state.wantedCampaign) $("f-campaign").append(el("option", state.wantedCampaign, { value: state.wantedCampaign }));
        $("f-campaign").value = state.wantedCampaign || "";
        refresh(true).then(() => { if (state.wantedRecord) showRecord(state.wantedRecord).catch(e => { $("status").textContent = "Could not load the record: " + e.message; }); });
        // Live: the numbers are re-read every two seconds (the campaign list with them every tenth time).
        let tick = 0;
        state.timer = setInterval(() => { if (!document.hidden) refresh(++tick % 10 === 0); }, refreshMs);
    }

    start();
})();
