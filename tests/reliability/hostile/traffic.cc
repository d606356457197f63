#include "tests/reliability/hostile/traffic.h"

#include <deque>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::reliability {
namespace {

using synmap::v1::CollectorMessage;
using synmap::v1::SensorMessage;

constexpr int64_t kMinuteNs = 60'000'000'000;

// Opens a stream with a deadline of `deadline` from now and completes the Hello; fills
// `report->sensor` and returns the first seq to use, or 0 with `report->error` set.
uint64_t Hello(synmap::v1::Ingest::Stub& stub, grpc::ClientContext& context,
               std::unique_ptr<grpc::ClientReaderWriter<SensorMessage, CollectorMessage>>& rw,
               absl::Duration deadline, StreamReport* report) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  rw = stub.Stream(&context);
  CollectorMessage reply;
  if (!rw->Write(MakeHello()) || !rw->Read(&reply) || !reply.has_hello_ack()) {
    report->error = absl::StrCat("hello: ", rw->Finish().error_message());
    return 0;
  }
  report->sensor = reply.hello_ack().sensor_name();
  return reply.hello_ack().last_committed_seq() + 1;
}

// The acks of one load stream, shared by its writer and its reader thread.
class AckWindow {
 public:
  // Blocks until fewer than `window` batches are unacked; records the send time.
  void BeforeSend(int window) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<int>(sent_at_.size()) < window || closed_;
    };
    mu_.Await(absl::Condition(&room));
    sent_at_.push_back(absl::Now());
  }
  // Takes one ack (acks come in send order); returns its latency in ms.
  double OnAck() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (sent_at_.empty()) {
      return -1;
    }
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - sent_at_.front());
    sent_at_.pop_front();
    return ms;
  }
  // The reader is done: no more acks will come.
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // Waits until every sent batch is acked or the reader closed, at most `timeout`.
  bool AwaitAllAcked(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sent_at_.empty() || closed_; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout) && sent_at_.empty();
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::Time> sent_at_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

StreamReport RunLoadStream(const LoadOptions& o, int index) {
  StreamReport report;
  const std::string base = absl::StrCat(o.cert_dir, "/", o.cert_prefix, index);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakePeerChannel({o.target, o.ca_path, base + ".pem", base + ".key"});
  if (!channel.ok()) {
    report.error = std::string(channel.status().message());
    return report;
  }
  auto stub = synmap::v1::Ingest::NewStub(*channel);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<SensorMessage, CollectorMessage>> rw;
  uint64_t seq = Hello(*stub, context, rw, o.duration + o.drain + absl::Minutes(1), &report);
  if (seq == 0) {
    return report;
  }
  AckWindow acks;
  std::thread reader([&] {
    CollectorMessage ack;
    while (rw->Read(&ack)) {
      const double ms = acks.OnAck();
      ++report.batches_acked;
      if (ack.ack().duplicate()) {
        ++report.duplicates;
      } else {
        report.records_acked += o.records_per_batch;
      }
      report.ack_ms.push_back(ms);
    }
    acks.Close();
  });
  SensorMessage msg;
  *msg.mutable_batch() =
      MakeValidBatch(seq, o.records_per_batch, absl::ToUnixNanos(absl::Now()) - kMinuteNs);
  const absl::Time stop_at = absl::Now() + o.duration;
  while (absl::Now() < stop_at) {
    acks.BeforeSend(o.window);
    msg.mutable_batch()->set_seq(seq++);
    if (!rw->Write(msg)) {
      break;
    }
    ++report.batches_sent;
  }
  acks.AwaitAllAcked(o.drain);
  rw->WritesDone();
  reader.join();
  grpc::Status status = rw->Finish();
  if (!status.ok()) {
    report.error = absl::StrCat(status.error_code(), ": ", status.error_message());
  }
  return report;
}

}  // namespace

StreamReport RunProbe(const PeerOptions& peer, int records, absl::Duration interval,
                      absl::Duration duration) {
  StreamReport report;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakePeerChannel(peer);
  if (!channel.ok()) {
    report.error = std::string(channel.status().message());
    return report;
  }
  auto stub = synmap::v1::Ingest::NewStub(*channel);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<SensorMessage, CollectorMessage>> rw;
  uint64_t seq = Hello(*stub, context, rw, duration + absl::Minutes(2), &report);
  if (seq == 0) {
    return report;
  }
  const absl::Time stop_at = absl::Now() + duration;
  absl::Time next = absl::Now();
  while (absl::Now() < stop_at) {
    SensorMessage msg;
    *msg.mutable_batch() =
        MakeValidBatch(seq++, records, absl::ToUnixNanos(absl::Now()) - kMinuteNs);
    const absl::Time sent = absl::Now();
    CollectorMessage ack;
    if (!rw->Write(msg)) {
      break;
    }
    ++report.batches_sent;
    if (!rw->Read(&ack) || !ack.has_ack()) {
      break;
    }
    report.ack_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
    ++report.batches_acked;
    if (ack.ack().duplicate()) {
      ++report.duplicates;
    } else {
      report.records_acked += records;
    }
    next += interval;
    absl::SleepFor(next - absl::Now());  // Pacing the send rate, not waiting on a condition.
  }
  rw->WritesDone();
  grpc::Status status = rw->Finish();
  if (!status.ok() || report.batches_acked != report.batches_sent) {
    report.error =
        absl::StrCat("stream ended: ", status.error_code(), ": ", status.error_message(), " (sent ",
                     report.batches_sent, ", acked ", report.batches_acked, ")");
  }
  return report;
}

std::vector<StreamReport> RunLoad(const LoadOptions& options) {
  std::vector<StreamReport> reports(static_cast<size_t>(options.streams));
  std::vector<std::thread> threads;
  for (int i = 0; i < options.streams; ++i) {
    threads.emplace_back(
        [&options, &reports, i] { reports[static_cast<size_t>(i)] = RunLoadStream(options, i); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  return reports;
}

}  // namespace synmap::reliability
