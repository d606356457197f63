#include "sensor/capture/pcap_live_source.h"

#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "sensor/capture/synack_filter.h"

namespace synmap::sensor {
namespace {

constexpr int kMinSnaplenBytes = 64;
constexpr int kMinBufferBytes = 64 << 10;
// After Break(), reads until one finds nothing, but at most this many (a busy interface
// would otherwise never run dry).
constexpr int kMaxReadsAfterBreak = 8;

// Maps a pcap_activate() result to a status code by what the operator should do.
absl::StatusCode ActivateErrorCode(int rc) {
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return absl::StatusCode::kNotFound;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return absl::StatusCode::kPermissionDenied;
    case PCAP_ERROR_IFACE_NOT_UP:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status PcapError(pcap_t* p, absl::string_view what, absl::string_view iface) {
  return absl::InternalError(absl::StrCat(what, " on ", iface, ": ", pcap_geterr(p)));
}

struct DispatchContext {
  PacketSource::PacketHandler* handler;
  int link_type;
};

void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
  auto* ctx = reinterpret_cast<DispatchContext*>(user);
  CapturedPacket packet;
  packet.link_type = ctx->link_type;
  // With PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds.
  packet.timestamp_ns =
      static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + static_cast<int64_t>(h->ts.tv_usec);
  packet.data = bytes;
  packet.caplen = h->caplen;
  packet.wire_length = h->len;
  (*ctx->handler)(packet);
}

}  // namespace

absl::Status PcapLiveOptions::Validate() const {
  if (interface.empty()) {
    return absl::InvalidArgumentError("capture interface: empty name");
  }
  if (snaplen_bytes < kMinSnaplenBytes || snaplen_bytes > 262144) {
    return absl::InvalidArgumentError(
        absl::StrCat("snaplen ", snaplen_bytes, ": want ", kMinSnaplenBytes, "..262144 bytes"));
  }
  if (buffer_size_bytes < kMinBufferBytes) {
    return absl::InvalidArgumentError(absl::StrCat("buffer size ", buffer_size_bytes,
                                                   ": want at least ", kMinBufferBytes, " bytes"));
  }
  if (read_timeout < absl::Milliseconds(1) || read_timeout > absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("read timeout ", absl::FormatDuration(read_timeout), ": want 1ms..10s"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PcapLiveSource>> PcapLiveSource::Open(
    const PcapLiveOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  const std::string& iface = options.interface;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  PcapHandle handle(pcap_create(iface.c_str(), errbuf));
  if (handle == nullptr) {
    return absl::InternalError(absl::StrCat("pcap_create ", iface, ": ", errbuf));
  }
  pcap_t* p = handle.get();
  if (pcap_set_snaplen(p, options.snaplen_bytes) != 0 ||
      pcap_set_buffer_size(p, options.buffer_size_bytes) != 0 ||
      pcap_set_timeout(p, static_cast<int>(absl::ToInt64Milliseconds(options.read_timeout))) != 0 ||
      pcap_set_promisc(p, options.promiscuous ? 1 : 0) != 0) {
    return PcapError(p, "configure capture", iface);
  }
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0) {
    return PcapError(p, "set nanosecond timestamps", iface);
  }
  const int rc = pcap_activate(p);
  if (rc < 0) {
    return absl::Status(
        ActivateErrorCode(rc),
        absl::StrCat("open capture on ", iface, ": ", pcap_statustostr(rc), ": ", pcap_geterr(p)));
  }
  if (rc > 0) {
    SYNMAP_LOG(WARNING) << "capture_activate_warning interface=" << iface
                        << " warning=" << pcap_statustostr(rc) << " detail=" << pcap_geterr(p);
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    return absl::InternalError(absl::StrCat("set non-blocking capture on ", iface, ": ", errbuf));
  }
  const int selectable_fd = pcap_get_selectable_fd(p);
  if (selectable_fd < 0) {
    return absl::InternalError(absl::StrCat("capture on ", iface, ": no selectable fd"));
  }
  const int link_type = pcap_datalink(p);
  std::string filter;
  absl::StatusOr<std::string> expression = SynAckFilterExpression(link_type, options.decapsulate);
  if (!expression.ok()) {
    // Unfiltered capture still counts correctly (the decoder decides); it only costs CPU.
    SYNMAP_LOG(WARNING) << "capture_unfiltered interface=" << iface
                        << " reason=" << expression.status().message();
  } else {
    bpf_program program;
    if (pcap_compile(p, &program, expression->c_str(), /*optimize=*/1, PCAP_NETMASK_UNKNOWN) != 0) {
      return PcapError(p, "compile syn/ack filter", iface);
    }
    const int set_rc = pcap_setfilter(p, &program);
    pcap_freecode(&program);
    if (set_rc != 0) {
      return PcapError(p, "install syn/ack filter", iface);
    }
    filter = *std::move(expression);
  }
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("eventfd for capture on ", iface));
  }
  return absl::WrapUnique(new PcapLiveSource(iface, std::move(handle), link_type, filter,
                                             selectable_fd, wake_fd, options.read_timeout));
}

PcapLiveSource::PcapLiveSource(std::string name, PcapHandle handle, int link_type,
                               std::string filter, int selectable_fd, int wake_fd,
                               absl::Duration read_timeout)
    : name_(std::move(name)),
      handle_(std::move(handle)),
      link_type_(link_type),
      filter_(std::move(filter)),
      selectable_fd_(selectable_fd),
      wake_fd_(wake_fd),
      read_timeout_(read_timeout) {}

PcapLiveSource::~PcapLiveSource() { close(wake_fd_); }

bool PcapLiveSource::WaitReadable(absl::Duration timeout, bool ignore_wake) {
  struct pollfd fds[2] = {{selectable_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  const int rc =
      poll(fds, ignore_wake ? 1 : 2, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  // EINTR or an error: let the caller read (non-blocking) and come back.
  return rc != 0 && (rc < 0 || (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0);
}

absl::StatusOr<size_t> PcapLiveSource::Dispatch(PacketHandler handler) {
  const bool breaking = broken_.load(std::memory_order_acquire);
  if (breaking && (drained_ || reads_after_break_ >= kMaxReadsAfterBreak)) {
    return absl::CancelledError(absl::StrCat("capture on ", name_, " stopped"));
  }
  // A partly filled TPACKET_V3 block becomes readable when the kernel retires it, one read
  // timeout after its first packet. While stopping, wait a little longer than that so the
  // last block still arrives, and ignore the wake-up that Break() left behind.
  const absl::Duration wait = breaking ? read_timeout_ * 2 : read_timeout_;
  const bool readable = WaitReadable(wait, /*ignore_wake=*/breaking);
  DispatchContext ctx{&handler, link_type_};
  const int n = pcap_dispatch(handle_.get(), -1, &OnPacket, reinterpret_cast<u_char*>(&ctx));
  if (breaking) {
    ++reads_after_break_;
    drained_ = !readable && n <= 0;
  }
  if (n >= 0) {
    return static_cast<size_t>(n);
  }
  if (n == PCAP_ERROR_BREAK) {
    return absl::CancelledError(absl::StrCat("capture on ", name_, " stopped"));
  }
  // The interface went away or went down: the caller logs it and stops this capture.
  return absl::UnavailableError(
      absl::StrCat("capture on ", name_, ": ", pcap_geterr(handle_.get())));
}

absl::StatusOr<DropCounters> PcapLiveSource::Drops() {
  struct pcap_stat st {};
  if (pcap_stats(handle_.get(), &st) != 0) {
    return absl::UnavailableError(
        absl::StrCat("capture statistics of ", name_, ": ", pcap_geterr(handle_.get())));
  }
  // Unsigned 32-bit subtraction is right across one wrap.
  drops_.kernel_drops += static_cast<uint32_t>(st.ps_drop - last_raw_drop_);
  drops_.interface_drops += static_cast<uint32_t>(st.ps_ifdrop - last_raw_ifdrop_);
  last_raw_drop_ = st.ps_drop;
  last_raw_ifdrop_ = st.ps_ifdrop;
  return drops_;
}

void PcapLiveSource::Break() {
  if (broken_.exchange(true, std::memory_order_acq_rel)) {
    return;
  }
  // Wakes a poll() in progress; the reads after it still deliver what was captured.
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
}

}  // namespace synmap::sensor
