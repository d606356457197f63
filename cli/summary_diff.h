#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace synmap::cli {

// One (client, server, service) row of a summary with its count and site ("" = none): the
// input of DiffSummaries. Rows of two sites are never the same row.
struct CountedRow {
  CountedRow(std::string client_label, std::string server_label, std::string service_label,
             uint64_t row_count, std::string site_name = "")
      : client(std::move(client_label)),
        server(std::move(server_label)),
        service(std::move(service_label)),
        count(row_count),
        site(std::move(site_name)) {}
  std::string client, server, service;
  uint64_t count = 0;
  std::string site;
};

// How a row differs between window a and window b.
enum class RowChange { kAppeared, kDisappeared, kChanged };

struct DiffRow {
  RowChange change = RowChange::kChanged;
  std::string client, server, service;
  uint64_t count_a = 0;
  uint64_t count_b = 0;
  std::string site;
};

// Rows in `b` and not in `a` (appeared), in `a` and not in `b` (disappeared), and in both with
// counts differing by at least `factor` (max / min >= factor; factor > 1). Sorted by change
// (appeared, disappeared, changed), then by the larger count descending, then by names.
// Rows must be unique per (site, client, server, service) in each input, as summaries are.
std::vector<DiffRow> DiffSummaries(const std::vector<CountedRow>& a,
                                   const std::vector<CountedRow>& b, double factor);

// "appeared", "disappeared", "changed".
const char* RowChangeName(RowChange change);

}  // namespace synmap::cli
