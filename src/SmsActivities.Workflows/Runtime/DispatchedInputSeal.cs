using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.DataProtection;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// The real input of a dispatched child whose queued input was masked (it held a value the parent marked secret),
/// encrypted with ASP.NET Core Data Protection and queued next to the masked copy. Whoever starts the child (this
/// process, the next one after a restart, another node) opens it with the host's key ring, which is never kept in the
/// workflow database: the database holds the mask and ciphertext only. A process without the key (a node with a key
/// ring of its own, keys lost) cannot open it, and the child then faults naming the inputs it could not be given.
/// </summary>
internal sealed class DispatchedInputSeal(IDataProtectionProvider protection)
{
    private readonly IDataProtector _protector = protection.CreateProtector("SmsActivities.Workflows.DispatchedChildInput");

    /// <summary>The input and the secrets the child must mask in its own data, as one ciphertext.</summary>
    public string Seal(IReadOnlyDictionary<string, JsonNode?> input, IReadOnlyCollection<string> secrets) => _protector.Protect(new JsonObject
    {
        ["input"] = new JsonObject(input.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))),
        ["secrets"] = new JsonArray([.. secrets.Select(s => (JsonNode?)s)]),
    }.ToJsonString(WorkflowJson.Options));

    /// <exception cref="InvalidOperationException">The key that sealed it is not in this process's key ring; the message names <paramref name="maskedInputs"/>.</exception>
    public (Dictionary<string, JsonNode?> Input, string[] Secrets) Open(string sealedInput, IEnumerable<string> maskedInputs)
    {
        string json;
        try
        {
            json = _protector.Unprotect(sealedInput);
        }
        catch (CryptographicException e)
        {
            var names = string.Join(", ", maskedInputs.Select(n => $"'{n}'"));
            throw new InvalidOperationException(
                $"The secret input {names} of this dispatched workflow was queued encrypted and cannot be decrypted by this process ({e.Message}). " +
                "Every process that runs workflows must share the ASP.NET Core Data Protection key ring of the one that dispatched it.", e);
        }
        var opened = JsonNode.Parse(json)!.AsObject();
        return ((opened["input"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value?.DeepClone()),
            (opened["secrets"] as JsonArray ?? []).Select(s => s!.GetValue<string>()).ToArray());
    }
}
