#pragma once

#include <pcap/pcap.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sensor/capture/packet_source.h"

namespace synmap::sensor {

struct PcapLiveOptions {
  // Interface name, or "any" (Linux cooked capture of every interface). Required.
  std::string interface;
  // Bytes kept per frame: enough for 3 VLAN tags, IPv6 with extension headers and a TCP
  // header with options. Default 256; at least 64.
  int snaplen_bytes = 256;
  // Kernel ring buffer (TPACKET_V3) size in bytes; larger absorbs longer bursts. Default 8 MiB;
  // at least 64 KiB.
  int buffer_size_bytes = 8 << 20;
  // Longest a Dispatch() waits with no packet: bounds how late a quiet interface notices that
  // a window ended. Default 200 ms; 1 ms .. 10 s.
  absl::Duration read_timeout = absl::Milliseconds(200);
  // Promiscuous mode (a mirror port needs it; a router sees its traffic without). Default off.
  bool promiscuous = false;
  // Whether the kernel filter also passes tunnelled SYN/ACKs (match the decoder's
  // DecodeOptions::decapsulate). Default on.
  bool decapsulate = true;

  // InvalidArgument naming the first bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// Captures SYN/ACKs from one live interface with libpcap (TPACKET_V3 on Linux), nanosecond
// timestamps, and the kernel BPF filter from SynAckFilterExpression(). Owns its pcap handle.
// libpcap's TPACKET_V3 reads wait forever on a quiet interface (the kernel retires only
// non-empty blocks), so the handle is non-blocking and Dispatch() polls it itself, with the
// read timeout and an eventfd that Break() signals.
// Thread-compatible (one capture thread), except Break(), which is thread-safe.
class PcapLiveSource final : public PacketSource {
 public:
  // Opens and activates the capture. NotFound for an unknown interface, PermissionDenied
  // without CAP_NET_RAW, InvalidArgument for bad options, Unavailable when the interface is
  // down, Internal for other libpcap failures; messages name the interface.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PcapLiveSource>> Open(
      const PcapLiveOptions& options);
  ~PcapLiveSource() override;
  PcapLiveSource(const PcapLiveSource&) = delete;
  PcapLiveSource& operator=(const PcapLiveSource&) = delete;

  const std::string& name() const override { return name_; }
  bool is_live() const override { return true; }
  const std::string& filter() const override { return filter_; }
  // The link type libpcap chose for the interface (DLT_EN10MB, DLT_LINUX_SLL, ...).
  int link_type() const { return link_type_; }

  [[nodiscard]] absl::StatusOr<size_t> Dispatch(PacketHandler handler) override;
  [[nodiscard]] absl::StatusOr<DropCounters> Drops() override;
  void Break() override;

 private:
  struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
  };
  using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

  PcapLiveSource(std::string name, PcapHandle handle, int link_type, std::string filter,
                 int selectable_fd, int wake_fd, absl::Duration read_timeout);
  // Waits until the capture fd is readable, Break() is called (unless `ignore_wake`), or
  // `timeout` passes. Returns true if the capture fd became readable.
  bool WaitReadable(absl::Duration timeout, bool ignore_wake);

  std::string name_;
  PcapHandle handle_;
  int link_type_;
  std::string filter_;
  const int selectable_fd_;  // libpcap's socket: readable when a ring block is ready.
  const int wake_fd_;        // An eventfd Break() writes to; owned.
  const absl::Duration read_timeout_;
  std::atomic<bool> broken_{false};
  int reads_after_break_ = 0;  // Dispatch() calls since Break() was seen.
  bool drained_ = false;       // A read after Break() found nothing left.
  // libpcap's counters are 32-bit and wrap; these extend them.
  uint32_t last_raw_drop_ = 0;
  uint32_t last_raw_ifdrop_ = 0;
  DropCounters drops_;
};

}  // namespace synmap::sensor
