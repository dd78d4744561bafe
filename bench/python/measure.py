"""What a benchmark measurement records on the Python side: wall time and peak memory.

Peak RSS is the kernel's high-water mark of this process (VmHWM in /proc/self/status, which
resource.getrusage's ru_maxrss also reads), reset before each measurement by writing 5 to /proc/self/clear_refs
(Linux >= 4.0), so that a measurement's peak is its own and not that of the model load or of an earlier, larger
one. VmHWM is read rather than getrusage, which also keeps the peak of exited threads. tracemalloc would not see
torch's allocations, and psutil is not part of the reference stack. On CUDA the peak of torch's caching
allocator is recorded as well.
"""
import resource
import time

import torch


def reset_peak_rss():
    """Resets the RSS high-water mark to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes():
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes():
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * resource.getpagesize()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Measurement:
    """A context that times its body and records the peak RSS (and CUDA memory) reached inside it."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        synchronize(self.device)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.resettable = reset_peak_rss()
        self.baseline_rss = current_rss_bytes()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        synchronize(self.device)
        self.seconds = time.perf_counter() - self.started
        self.peak_rss = peak_rss_bytes()
        self.cuda_peak = torch.cuda.max_memory_allocated(self.device) if self.device.type == "cuda" else None
        return False

    def record(self):
        """The measurement's common fields, in the JSON shape both sides report."""
        return {
            "seconds": self.seconds,
            "peakRssBytes": self.peak_rss,
            "baselineRssBytes": self.baseline_rss,
            "peakResettable": self.resettable,
            "cudaPeakBytes": self.cuda_peak,
        }
