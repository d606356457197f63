#pragma once

// State of one DecodePacket call, passed down through the layer decoders. Internal to
// common/packet.

#include "common/packet/decoder.h"
#include "common/packet/synack_event.h"

namespace synmap::common::internal {

// Thread-compatible; lives on DecodePacket's stack for one frame.
struct DecodeContext {
  SynAckEvent* event = nullptr;  // Filled on kSynAck (borrowed from the caller).
  int max_tunnel_depth = 0;      // Tunnel headers that may be entered; 0 = none.
  TunnelInfo tunnel;             // What was entered so far.
};

// Whether one more tunnel may be entered: false (and marks the frame too deep) when
// `max_tunnel_depth` tunnels were entered already, or none may be.
inline bool EnterTunnel(DecodeContext* ctx) {
  if (ctx->tunnel.depth >= ctx->max_tunnel_depth) {
    ctx->tunnel.too_deep = ctx->max_tunnel_depth > 0;
    return false;
  }
  ++ctx->tunnel.depth;
  return true;
}

}  // namespace synmap::common::internal
