#include "cli/summary_diff.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace synmap::cli {

const char* RowChangeName(RowChange change) {
  switch (change) {
    case RowChange::kAppeared:
      return "appeared";
    case RowChange::kDisappeared:
      return "disappeared";
    case RowChange::kChanged:
      return "changed";
  }
  return "changed";
}

std::vector<DiffRow> DiffSummaries(const std::vector<CountedRow>& a,
                                   const std::vector<CountedRow>& b, double factor) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, std::pair<uint64_t, uint64_t>> counts;  // (count in a, count in b)
  for (const CountedRow& r : a) {
    counts[{r.site, r.client, r.server, r.service}].first += r.count;
  }
  for (const CountedRow& r : b) {
    counts[{r.site, r.client, r.server, r.service}].second += r.count;
  }
  std::vector<DiffRow> out;
  for (const auto& [key, c] : counts) {
    const auto& [in_a, in_b] = c;
    DiffRow row{
        RowChange::kChanged, std::get<1>(key), std::get<2>(key), std::get<3>(key), in_a, in_b,
        std::get<0>(key)};
    if (in_a == 0 && in_b > 0) {
      row.change = RowChange::kAppeared;
    } else if (in_b == 0 && in_a > 0) {
      row.change = RowChange::kDisappeared;
    } else if (in_a == 0 || static_cast<double>(std::max(in_a, in_b)) <
                                factor * static_cast<double>(std::min(in_a, in_b))) {
      continue;  // Both zero, or within the factor.
    }
    out.push_back(std::move(row));
  }
  std::stable_sort(out.begin(), out.end(), [](const DiffRow& x, const DiffRow& y) {
    if (x.change != y.change) {
      return x.change < y.change;
    }
    return std::max(x.count_a, x.count_b) > std::max(y.count_a, y.count_b);
  });
  return out;
}

}  // namespace synmap::cli
