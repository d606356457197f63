#include "cli/sensor_overlap.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace synmap::cli {

std::string SensorOverlapCell(const synmap::v1::SensorStatus& sensor, bool text) {
  std::vector<std::string> parts;
  for (const synmap::v1::SensorOverlap& o : sensor.overlap()) {
    if (text) {
      parts.push_back(absl::StrFormat("%s %+.1fms n=%d", o.peer(),
                                      static_cast<double>(o.median_offset_ns()) / 1e6,
                                      o.matches()));
    } else {
      parts.push_back(absl::StrCat(o.peer(), ":", o.median_offset_ns() >= 0 ? "+" : "",
                                   o.median_offset_ns(), ":", o.matches(),
                                   ":max=", o.max_abs_offset_ns()));
    }
  }
  return absl::StrJoin(parts, text ? ", " : ";");
}

}  // namespace synmap::cli
