#pragma once

// The `overlap` cell of `synmap sensors`: which other sensors saw the same handshakes, and the
// clock skew measured from them (docs/counting.md, "Overlapping sensors").

#include <string>

#include "synmap/v1/query.pb.h"

namespace synmap::cli {

// "" when the sensor shares no handshakes with another; else one entry per peer, "core
// +1.2ms n=340" (median offset of this sensor's clock against the peer's, handshakes both
// saw), separated by ", " in text and ";" in machine formats, where the offset is in whole
// nanoseconds and the largest offset follows ("core:+1200000:340:max=1900000").
std::string SensorOverlapCell(const synmap::v1::SensorStatus& sensor, bool text);

}  // namespace synmap::cli
