using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities;

/// <summary>Marks activities Studio draws without an in-port (<c>isStart</c>).</summary>
public interface IStartNode;

/// <summary>Marks activities Studio draws without an out-port (<c>isTerminal</c>).</summary>
public interface ITerminalNode;

/// <summary>The activity types known to the runtime, by type name, and their descriptors.</summary>
public sealed class ActivityRegistry
{
    private readonly ConcurrentDictionary<string, ActivityTypeInfo> _types = new(StringComparer.Ordinal);

    public void Register(Type type)
    {
        if (!typeof(Activity).IsAssignableFrom(type) || type.IsAbstract || type.GetConstructor(Type.EmptyTypes) is null)
            throw new ArgumentException($"{type} must be a concrete Activity with a public parameterless constructor.", nameof(type));
        var info = ActivityTypeInfo.Get(type);
        _types[info.TypeName] = info;
    }

    public void Register<T>() where T : Activity, new() => Register(typeof(T));

    public ActivityTypeInfo? Find(string typeName) => _types.GetValueOrDefault(typeName);

    public IEnumerable<ActivityTypeInfo> Types => _types.Values.OrderBy(t => t.TypeName, StringComparer.Ordinal);

    /// <param name="services">Resolves the inputs' <see cref="InputAttribute.OptionsProvider"/>s; without it their drop-downs fall back to the static options.</param>
    public IReadOnlyList<ActivityDescriptor> GetDescriptors(IServiceProvider? services = null) => Types.Select(t => Describe(t, services)).ToList();

    public static ActivityDescriptor Describe(ActivityTypeInfo info, IServiceProvider? services = null)
    {
        var ports = info.Outcomes.Select(o => new PortDescriptor(o, o, "Flow"))
            .Concat(info.ChildSlots.Where(s => typeof(Activity).IsAssignableFrom(s.PropertyType))
                .Select(s => new PortDescriptor(s.Name, ActivityTypeInfo.Humanize(s.Name), "Embedded")))
            .ToList();
        var inputs = info.Inputs.Select((i, index) => new InputDescriptor(
            i.Name,
            ActivityTypeInfo.TypeAlias(i.ValueType),
            i.Attribute?.DisplayName ?? ActivityTypeInfo.Humanize(i.Name),
            i.Attribute?.Description,
            i.Attribute?.Order ?? index,
            i.Attribute?.IsBrowsable ?? true,
            IsSerializable: true,
            IsSynthetic: false,
            i.IsWrapped,
            i.UIHint,
            i.Attribute?.DefaultSyntax ?? "Literal",
            IsReadOnly: false,
            i.IsSensitive,
            AutoEvaluate: true,
            i.Attribute?.Category,
            i.DefaultValueNode,
            DropDownSpecification(i, services))).ToList();
        var outputs = info.Outputs.Select((o, index) => new OutputDescriptor(
            o.Name, ActivityTypeInfo.TypeAlias(o.ValueType), o.Attribute?.DisplayName ?? ActivityTypeInfo.Humanize(o.Name),
            o.Attribute?.Description, index, IsBrowsable: true, IsSerializable: true, IsSynthetic: false)).ToList();
        return new ActivityDescriptor(
            info.TypeName, info.Namespace, info.Name, info.Version, info.Category, info.DisplayName, info.Description,
            inputs, outputs, info.IsTrigger ? "Trigger" : "Action", RunAsynchronously: false, ports,
            CustomProperties: [], ConstructionProperties: [],
            IsContainer: info.ChildSlots.Count > 0,
            info.IsBrowsable,
            IsStart: typeof(IStartNode).IsAssignableFrom(info.Type),
            IsTerminal: typeof(ITerminalNode).IsAssignableFrom(info.Type));
    }

    /// <summary>
    /// The input's choices where Studio's editor for its UI hint reads them: a checklist under
    /// <c>{"checklist":{"checkList":{"items":[{"text","value"}],"isFlagsEnum":false}}}</c>, any other input (a drop-down)
    /// under <c>{"dropdown":{"selectList":{"items":[…],"isFlagsEnum":false}}}</c>. Choices that depend on the workflow
    /// start empty with <c>"Refresh":true</c>, which makes Studio ask for them (<see cref="OptionsSpecification"/>).
    /// </summary>
    private static JsonObject? DropDownSpecification(InputInfo input, IServiceProvider? services)
    {
        if (input.Attribute?.OptionsProvider is { } type && typeof(IWorkflowInputOptionsProvider).IsAssignableFrom(type))
        {
            var refreshed = OptionsSpecification(input, []);
            refreshed["Refresh"] = true;
            return refreshed;
        }
        var options = input.Attribute?.OptionsProvider is { } providerType && services is not null
            ? ((IInputOptionsProvider)ActivatorUtilities.GetServiceOrCreateInstance(services, providerType)).GetOptions(input).ToArray()
            : input.Attribute?.Options ?? (input.ValueType.IsEnum ? Enum.GetNames(input.ValueType) : null);
        if (options is not { Length: > 0 }) return null;
        return OptionsSpecification(input, options.Select(o => new InputOption(o, o)).ToList());
    }

    /// <summary>The UI specification of an input with these choices, under the key its editor reads.</summary>
    public static JsonObject OptionsSpecification(InputInfo input, IReadOnlyList<InputOption> options)
    {
        var items = new JsonArray(options.Select(o => (JsonNode)new JsonObject { ["text"] = o.Text, ["value"] = o.Value }).ToArray());
        var list = new JsonObject { ["items"] = items, ["isFlagsEnum"] = false };
        return input.UIHint == InputUIHints.CheckList
            ? new JsonObject { [InputUIHints.CheckList] = new JsonObject { ["checkList"] = list } }
            : new JsonObject { [InputUIHints.DropDown] = new JsonObject { ["selectList"] = list } };
    }

    /// <summary>The workflow-dependent choices of an input (<see cref="IWorkflowInputOptionsProvider"/>), or null when it has none.</summary>
    public static JsonObject? WorkflowOptionsSpecification(InputInfo input, WorkflowDefinition definition, IServiceProvider services)
    {
        if (input.Attribute?.OptionsProvider is not { } type || !typeof(IWorkflowInputOptionsProvider).IsAssignableFrom(type)) return null;
        var provider = (IWorkflowInputOptionsProvider)ActivatorUtilities.GetServiceOrCreateInstance(services, type);
        var specification = OptionsSpecification(input, provider.GetOptions(input, definition));
        specification["Refresh"] = true;
        return specification;
    }
}
