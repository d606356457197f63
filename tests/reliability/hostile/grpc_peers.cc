#include "tests/reliability/hostile/grpc_peers.h"

#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "synmap/v1/ingest.grpc.pb.h"
#include "synmap/v1/query.grpc.pb.h"

namespace synmap::reliability {
namespace {

using synmap::v1::CollectorMessage;
using synmap::v1::SensorMessage;
using Stream = grpc::ClientReaderWriter<SensorMessage, CollectorMessage>;

constexpr absl::Duration kCallDeadline = absl::Seconds(30);
constexpr int64_t kSecondNs = 1'000'000'000;

// One open Ingest stream and the context it lives in.
struct OpenStream {
  std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
  std::unique_ptr<Stream> stream;
  uint64_t last_committed_seq = 0;
};

// Opens a stream on `stub` and completes the Hello. On failure `status` holds why.
OpenStream OpenWithHello(synmap::v1::Ingest::Stub& stub, absl::Duration deadline,
                         grpc::Status* status) {
  OpenStream s;
  s.context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  s.stream = stub.Stream(s.context.get());
  CollectorMessage reply;
  if (!s.stream->Write(MakeHello()) || !s.stream->Read(&reply) || !reply.has_hello_ack()) {
    *status = s.stream->Finish();
    if (status->ok()) {
      *status = grpc::Status(grpc::StatusCode::INTERNAL, "no HelloAck and no error");
    }
    s.stream.reset();
    return s;
  }
  s.last_committed_seq = reply.hello_ack().last_committed_seq();
  *status = grpc::Status::OK;
  return s;
}

// Sends `msg` and reads until the collector ends the stream; returns its final status.
// Acks read on the way are added to `*acked`.
grpc::Status SendAndFinish(OpenStream& s, const SensorMessage& msg, int* acked) {
  s.stream->Write(msg);  // May fail once the server has ended the call; Finish says why.
  s.stream->WritesDone();
  CollectorMessage reply;
  while (s.stream->Read(&reply)) {
    if (reply.has_ack()) {
      ++*acked;
    }
  }
  return s.stream->Finish();
}

// One malformed-batch case: its name and how it breaks a valid batch.
struct MalformedCase {
  std::string name;
  std::string limit;  // The limit name ValidateBatch reports.
  std::function<void(synmap::v1::Batch&, int64_t now_ns)> mutate;
};

std::vector<MalformedCase> MalformedCases() {
  using synmap::v1::Batch;
  return {
      {"ip_length", "ip_length",
       [](Batch& b, int64_t) { b.mutable_records(0)->set_client_ip("\x0a\x01\x02"); }},
      {"ip_family", "ip_family",
       [](Batch& b, int64_t) { b.mutable_records(0)->set_server_ip(std::string(16, '\x20')); }},
      {"port", "port", [](Batch& b, int64_t) { b.mutable_records(1)->set_server_port(0); }},
      {"port_too_big", "port",
       [](Batch& b, int64_t) { b.mutable_records(1)->set_server_port(70000); }},
      {"counts", "counts", [](Batch& b, int64_t) { b.mutable_records(2)->set_connections(9); }},
      // Counts that would wrap a sum: 2^63 twice, or 2^64-1 then more (per-record limit 2^40).
      {"counts_2^63", "counts",
       [](Batch& b, int64_t) {
         b.mutable_records(2)->set_packets(uint64_t{1} << 63);
         b.mutable_records(2)->set_connections(uint64_t{1} << 63);
       }},
      {"counts_2^64-1", "counts",
       [](Batch& b, int64_t) {
         b.mutable_records(2)->set_packets(~uint64_t{0});
         b.mutable_records(2)->set_connections(1);
       }},
      {"timestamps", "timestamps",
       [](Batch& b, int64_t) {
         b.mutable_records(0)->set_first_seen_unix_ns(b.start_unix_ns() - kSecondNs);
       }},
      {"window", "window",
       [](Batch& b, int64_t) { b.set_start_unix_ns(b.end_unix_ns() + kSecondNs); }},
      {"future", "future",
       [](Batch& b, int64_t now_ns) {
         const int64_t end = now_ns + 3 * 86'400 * kSecondNs;
         b = MakeValidBatch(b.seq(), 3, end);
       }},
      {"seq", "seq", [](Batch& b, int64_t) { b.set_seq(0); }},
      {"seq_2^63", "seq", [](Batch& b, int64_t) { b.set_seq(uint64_t{1} << 63); }},
      {"records_per_batch", "records_per_batch",
       [](Batch& b, int64_t) { b = MakeValidBatch(b.seq(), 200'001, b.end_unix_ns()); }},
  };
}

}  // namespace

std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  if (i >= 0 && i < static_cast<int>(std::size(kNames))) {
    return kNames[i];
  }
  return absl::StrCat("UNKNOWN(", i, ")");
}

bool ParseCodeName(const std::string& name, grpc::StatusCode* code) {
  for (int i = 0; i <= static_cast<int>(grpc::StatusCode::UNAUTHENTICATED); ++i) {
    if (CodeName(static_cast<grpc::StatusCode>(i)) == name) {
      *code = static_cast<grpc::StatusCode>(i);
      return true;
    }
  }
  return false;
}

absl::Status HoldIdleStreams(const PeerOptions& peer, int streams, int channels,
                             absl::Duration hold, const std::function<void(int)>& on_holding,
                             int* opened) {
  std::vector<std::unique_ptr<synmap::v1::Ingest::Stub>> stubs;
  for (int c = 0; c < channels; ++c) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakePeerChannel(peer);
    if (!channel.ok()) {
      return channel.status();
    }
    stubs.push_back(synmap::v1::Ingest::NewStub(*channel));
  }
  std::vector<OpenStream> held;
  grpc::Status last_error;
  for (int i = 0; i < streams; ++i) {
    grpc::Status status;
    OpenStream s =
        OpenWithHello(*stubs[static_cast<size_t>(i % channels)], hold + kCallDeadline, &status);
    if (!status.ok()) {
      last_error = status;
      continue;
    }
    held.push_back(std::move(s));
  }
  *opened = static_cast<int>(held.size());
  on_holding(*opened);
  absl::SleepFor(hold);  // Holding the streams idle is the attack itself.
  for (OpenStream& s : held) {
    s.context->TryCancel();
    (void)s.stream->Finish();
  }
  if (held.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no idle stream opened: ", last_error.error_message()));
  }
  return absl::OkStatus();
}

RefusalResult SendOversized(const PeerOptions& peer) {
  RefusalResult r{"oversized", grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::OK, "", ""};
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakePeerChannel(peer);
  if (!channel.ok()) {
    r.got = grpc::StatusCode::FAILED_PRECONDITION;
    r.message = std::string(channel.status().message());
    return r;
  }
  auto stub = synmap::v1::Ingest::NewStub(*channel);
  grpc::Status status;
  OpenStream s = OpenWithHello(*stub, kCallDeadline, &status);
  if (status.ok()) {
    SensorMessage msg;
    *msg.mutable_batch() = MakeValidBatch(s.last_committed_seq + 1, 1,
                                          absl::ToUnixNanos(absl::Now()) - 60 * kSecondNs);
    msg.mutable_batch()->mutable_records(0)->set_client_ip(std::string(17 << 20, 'x'));
    int acked = 0;
    status = SendAndFinish(s, msg, &acked);
  }
  r.got = status.error_code();
  r.message = status.error_message();
  return r;
}

std::vector<RefusalResult> SendMalformedBatches(const PeerOptions& peer, int64_t* acked_records) {
  std::vector<RefusalResult> results;
  *acked_records = 0;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakePeerChannel(peer);
  if (!channel.ok()) {
    results.push_back({"channel", grpc::StatusCode::OK, grpc::StatusCode::FAILED_PRECONDITION,
                       std::string(channel.status().message()), ""});
    return results;
  }
  auto stub = synmap::v1::Ingest::NewStub(*channel);
  for (const MalformedCase& c : MalformedCases()) {
    RefusalResult r{c.name, grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::OK, "",
                    absl::StrCat("(limit ", c.limit, ")")};
    grpc::Status status;
    OpenStream s = OpenWithHello(*stub, kCallDeadline, &status);
    if (status.ok()) {
      const int64_t now_ns = absl::ToUnixNanos(absl::Now());
      SensorMessage msg;
      *msg.mutable_batch() = MakeValidBatch(s.last_committed_seq + 1, 4, now_ns - 60 * kSecondNs);
      c.mutate(*msg.mutable_batch(), now_ns);
      int acked = 0;
      status = SendAndFinish(s, msg, &acked);
      if (acked > 0) {
        status = grpc::Status(grpc::StatusCode::OK, "the malformed batch was acked");
      }
    }
    r.got = status.error_code();
    r.message = status.error_message();
    results.push_back(r);
  }
  // seq going backwards: commit seq L+2, then send L+1 on the same stream.
  RefusalResult r{"seq_backwards", grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::OK, "",
                  ""};
  grpc::Status status;
  OpenStream s = OpenWithHello(*stub, kCallDeadline, &status);
  if (status.ok()) {
    const int64_t end_ns = absl::ToUnixNanos(absl::Now()) - 60 * kSecondNs;
    constexpr int kValidRecords = 5;
    SensorMessage good;
    *good.mutable_batch() = MakeValidBatch(s.last_committed_seq + 2, kValidRecords, end_ns);
    CollectorMessage reply;
    if (s.stream->Write(good) && s.stream->Read(&reply) && reply.has_ack()) {
      *acked_records += kValidRecords;
      SensorMessage back;
      *back.mutable_batch() = MakeValidBatch(s.last_committed_seq + 1, 3, end_ns);
      int acked = 0;
      status = SendAndFinish(s, back, &acked);
      if (acked > 0) {
        status = grpc::Status(grpc::StatusCode::OK, "the backwards batch was acked");
      }
    } else {
      status = s.stream->Finish();
    }
  }
  r.got = status.error_code();
  r.message = status.error_message();
  results.push_back(r);
  return results;
}

RefusalResult ForgeBatch(const PeerOptions& peer, uint64_t seq, grpc::StatusCode want,
                         std::string* ack) {
  RefusalResult r{absl::StrCat("forge_seq_", seq), want, grpc::StatusCode::OK, "", ""};
  *ack = "none";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakePeerChannel(peer);
  if (!channel.ok()) {
    r.got = grpc::StatusCode::FAILED_PRECONDITION;
    r.message = std::string(channel.status().message());
    return r;
  }
  auto stub = synmap::v1::Ingest::NewStub(*channel);
  grpc::Status status;
  OpenStream s = OpenWithHello(*stub, kCallDeadline, &status);
  if (status.ok()) {
    SensorMessage msg;
    *msg.mutable_batch() = MakeValidBatch(seq, 0, absl::ToUnixNanos(absl::Now()));
    s.stream->Write(msg);
    s.stream->WritesDone();
    CollectorMessage reply;
    while (s.stream->Read(&reply)) {
      if (reply.has_ack()) {
        *ack = reply.ack().status() == synmap::v1::ACK_STATUS_CONFLICT ? "conflict"
               : reply.ack().duplicate()                               ? "duplicate"
                                                                       : "committed";
      }
    }
    status = s.stream->Finish();
  }
  r.got = status.error_code();
  r.message = status.error_message();
  return r;
}

RefusalResult CallWithCertificate(const PeerOptions& peer, Rpc rpc, grpc::StatusCode want) {
  RefusalResult r{rpc == Rpc::kIngest ? "ingest" : "query", want, grpc::StatusCode::OK, "", ""};
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakePeerChannel(peer);
  if (!channel.ok()) {
    r.got = grpc::StatusCode::FAILED_PRECONDITION;
    r.message = std::string(channel.status().message());
    return r;
  }
  grpc::Status status;
  if (rpc == Rpc::kIngest) {
    auto stub = synmap::v1::Ingest::NewStub(*channel);
    OpenStream s = OpenWithHello(*stub, absl::Seconds(10), &status);
    if (status.ok()) {
      s.stream->WritesDone();
      status = s.stream->Finish();
    }
  } else {
    auto stub = synmap::v1::Query::NewStub(*channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    synmap::v1::SensorsResponse response;
    status = stub->Sensors(&context, synmap::v1::SensorsRequest(), &response);
  }
  r.got = status.error_code();
  r.message = status.error_message();
  return r;
}

}  // namespace synmap::reliability
