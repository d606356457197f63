// synmap-summarize-phases FILE...: times the stages of `synmap summarize` that come before
// naming, on the same code (CaptureSummarizer): reading, decoding and counting every file into
// the SYN/ACK table, then taking the records out (in blocks, as summarize does). Prints one line
// per stage with its wall and CPU time and the process's resident memory after it (VmRSS, VmHWM),
// then the key count, so the cost per key of the table and, by difference with the whole command,
// of naming and output can be written down. Not a test; see bench/README.md.

#include <malloc.h>
#include <sys/resource.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/capture_summarizer.h"
#include "common/aggregate/record.h"

namespace {

// VmRSS and VmHWM of this process, in KiB (0 when /proc is not there).
void Memory(uint64_t* rss_kib, uint64_t* hwm_kib) {
  *rss_kib = 0;
  *hwm_kib = 0;
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) {
    return;
  }
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &v) == 1) {
      *rss_kib = v;
    } else if (std::sscanf(line, "VmHWM: %llu kB", &v) == 1) {
      *hwm_kib = v;
    }
  }
  std::fclose(f);
}

double CpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Prints one stage line and restarts the clocks.
void Stage(const char* name, absl::Time* wall, double* cpu) {
  const absl::Time now = absl::Now();
  const double cpu_now = CpuSeconds();
  uint64_t rss = 0;
  uint64_t hwm = 0;
  Memory(&rss, &hwm);
  std::printf("%-8s wall %.3f s  cpu %.3f s  rss %.1f MiB  peak %.1f MiB\n", name,
              absl::ToDoubleSeconds(now - *wall), cpu_now - *cpu, static_cast<double>(rss) / 1024,
              static_cast<double>(hwm) / 1024);
  *wall = now;
  *cpu = cpu_now;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: synmap-summarize-phases FILE...\n", stderr);
    return 2;
  }
  mallopt(M_MMAP_THRESHOLD, 1 << 20);  // As `synmap summarize` sets it (cli/summarize.cc).
  absl::Time wall = absl::Now();
  double cpu = CpuSeconds();
  Stage("start", &wall, &cpu);
  synmap::cli::CaptureSummarizer summarizer{synmap::common::SynAckTableOptions()};
  for (int i = 1; i < argc; ++i) {
    if (absl::Status s = summarizer.AddFile(argv[i]); !s.ok()) {
      std::fprintf(stderr, "synmap-summarize-phases: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  Stage("count", &wall, &cpu);
  const std::vector<std::vector<synmap::common::Record>> blocks = summarizer.TakeRecordBlocks();
  Stage("take", &wall, &cpu);
  size_t keys = 0;
  for (const std::vector<synmap::common::Record>& block : blocks) {
    keys += block.size();
  }
  const synmap::cli::SummaryCoverage& coverage = summarizer.coverage();
  std::printf("packets %" PRIu64 " synacks %" PRIu64 " keys %zu (%zu bytes a Record)\n",
              coverage.packets, coverage.table.synacks, keys, sizeof(synmap::common::Record));
  return 0;
}
