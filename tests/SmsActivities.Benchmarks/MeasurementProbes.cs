using System.Runtime;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The JIT's work over one measurement (methods compiled and time spent), with the lists a run can ask for by
/// environment variable: the methods compiled (<see cref="JitProbe"/>) and the types allocated most
/// (<see cref="AllocationProbe"/>), each written to the file the variable names when the measurement ends.
/// </summary>
internal sealed class MeasurementProbes : IDisposable
{
    private readonly string? _jitLog;
    private readonly string? _allocationLog;
    private readonly JitProbe? _jit;
    private readonly AllocationProbe? _allocations;
    private readonly long _methodsBefore = JitInfo.GetCompiledMethodCount();
    private readonly TimeSpan _jitTimeBefore = JitInfo.GetCompilationTime();

    /// <param name="jitLogVariable">The variable naming the file for the methods compiled.</param>
    /// <param name="allocationLogVariable">The variable naming the file for the types allocated, if the measurement offers one.</param>
    public MeasurementProbes(string jitLogVariable, string? allocationLogVariable = null)
    {
        _jitLog = Environment.GetEnvironmentVariable(jitLogVariable);
        _allocationLog = allocationLogVariable is null ? null : Environment.GetEnvironmentVariable(allocationLogVariable);
        _jit = _jitLog is null ? null : new JitProbe();
        _allocations = _allocationLog is null ? null : new AllocationProbe();
        _jit?.Start();
        _allocations?.Start();
    }

    /// <summary>Ends the measurement: writes the lists asked for and returns the JIT's work since the start.</summary>
    public async Task<(long Methods, TimeSpan Time)> StopAsync()
    {
        var jitted = (JitInfo.GetCompiledMethodCount() - _methodsBefore, JitInfo.GetCompilationTime() - _jitTimeBefore);
        if (_jit is not null) await File.WriteAllLinesAsync(_jitLog!, _jit.Stop());
        if (_allocations is not null) await File.WriteAllLinesAsync(_allocationLog!, _allocations.Stop());
        return jitted;
    }

    public void Dispose()
    {
        _jit?.Dispose();
        _allocations?.Dispose();
    }
}
