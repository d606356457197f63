#include "collector/query/new_service_alerts.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json/json_string.h"
#include "common/log/log.h"
#include "common/naming/labeler.h"

namespace synmap::collector {
namespace {

// The site of `key`'s sensor ("" = none, also for a sensor the snapshot does not list).
const std::string& SiteOf(const StoreSnapshot& snapshot, const AggregateKey& key) {
  static const std::string kNoSite;
  return key.sensor < snapshot.sensors.size() ? snapshot.sensors[key.sensor].site : kNoSite;
}

}  // namespace

absl::Status NewServiceAlertOptions::Validate() const {
  if (command.empty()) {
    return absl::InvalidArgumentError("the new-service command is empty");
  }
  if (interval <= absl::ZeroDuration() || command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("new-service interval and command timeout must be > 0");
  }
  if (max_per_minute < 1) {
    return absl::InvalidArgumentError("new-service alerts per minute must be >= 1");
  }
  return absl::OkStatus();
}

NewServiceAlerts::NewServiceAlerts(Store& store, const NamesHolder& names,
                                   NewServiceAlertOptions options)
    : store_(store), names_(names), options_(std::move(options)) {}

NewServiceAlerts::~NewServiceAlerts() { Stop(); }

absl::Status NewServiceAlerts::Start() {
  if (absl::Status s = options_.Validate(); !s.ok()) {
    return s;
  }
  if (thread_.joinable()) {
    return absl::FailedPreconditionError("new-service alerts already started");
  }
  // What is stored now is known: only what arrives later alerts.
  const std::shared_ptr<const StoreSnapshot> snapshot =
      store_.Snapshot(0, 0, SnapshotBuckets::kNone);
  if (snapshot->keys != nullptr && snapshot->ips != nullptr) {
    const std::shared_ptr<const common::NameTable> names = names_.Get();
    common::Labeler labeler(*names, *snapshot->ips, /*show_remote=*/false);
    for (const AggregateKey& k : *snapshot->keys) {
      const std::string& site = SiteOf(*snapshot, k);
      if (known_endpoints_.emplace(site, k.server, k.port).second) {
        known_services_.emplace(site,
                                labeler.Label(labeler.HostLabelId(k.server, labeler.SiteId(site))),
                                labeler.Label(labeler.ServiceLabelId(k.port)));
      }
    }
    keys_seen_ = snapshot->keys->size();
  }
  SYNMAP_LOG(INFO) << "new_service_alerts started known_services=" << known_services_.size()
                   << " interval=" << options_.interval;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void NewServiceAlerts::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  stop_.Notify();
  thread_.join();
  SYNMAP_LOG(INFO) << "new_service_alerts fired=" << fired() << " suppressed=" << suppressed()
                   << " failed=" << failed();
}

void NewServiceAlerts::Run() {
  while (!stop_.WaitForNotificationWithTimeout(options_.interval)) {
    Poll();
  }
}

void NewServiceAlerts::Poll() {
  const std::shared_ptr<const StoreSnapshot> snapshot =
      store_.Snapshot(0, 0, SnapshotBuckets::kNone);
  if (snapshot->keys == nullptr || snapshot->ips == nullptr ||
      snapshot->keys->size() <= keys_seen_) {
    return;
  }
  const std::vector<AggregateKey>& keys = *snapshot->keys;
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  common::Labeler labeler(*names, *snapshot->ips, /*show_remote=*/false);
  for (size_t id = keys_seen_; id < keys.size(); ++id) {
    const AggregateKey& k = keys[id];
    const std::string& site = SiteOf(*snapshot, k);
    if (!known_endpoints_.emplace(site, k.server, k.port).second) {
      continue;
    }
    const uint32_t server_label = labeler.HostLabelId(k.server, labeler.SiteId(site));
    const std::string& server = labeler.Label(server_label);
    const std::string& service = labeler.Label(labeler.ServiceLabelId(k.port));
    // "_" is any remote server: an outbound service, not a server of ours nobody knew about.
    if (server == "_" || !known_services_.emplace(site, server, service).second) {
      continue;
    }
    std::string json = "{\"server\": ";
    common::AppendJsonString(server, &json);
    json += ", \"server_ip\": ";
    common::AppendJsonString(labeler.Ip(k.server).ToString(), &json);
    json += ", \"service\": ";
    common::AppendJsonString(service, &json);
    absl::StrAppend(&json, ", \"port\": ", k.port, ", \"sensor\": ");
    common::AppendJsonString(
        k.sensor < snapshot->sensors.size() ? snapshot->sensors[k.sensor].name : "", &json);
    if (!site.empty()) {
      json += ", \"site\": ";
      common::AppendJsonString(site, &json);
    }
    json += ", \"detected_at\": ";
    common::AppendJsonString(
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()), &json);
    json += "}\n";

    const absl::Time now = absl::Now();
    recent_runs_.erase(std::remove_if(recent_runs_.begin(), recent_runs_.end(),
                                      [&](absl::Time t) { return now - t >= absl::Minutes(1); }),
                       recent_runs_.end());
    if (static_cast<int>(recent_runs_.size()) >= options_.max_per_minute) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      SYNMAP_LOG(WARNING) << "new_service_alert_suppressed server=" << server
                          << " service=" << service
                          << " reason=rate_limit max_per_minute=" << options_.max_per_minute;
      continue;
    }
    recent_runs_.push_back(now);
    SYNMAP_LOG(INFO) << "new_service server=" << server << " service=" << service
                     << " port=" << k.port;
    if (RunCommand(json)) {
      fired_.fetch_add(1, std::memory_order_relaxed);
    } else {
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
    if (stop_.HasBeenNotified()) {
      break;
    }
  }
  keys_seen_ = keys.size();
}

bool NewServiceAlerts::RunCommand(const std::string& json) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    SYNMAP_LOG(ERROR) << "new_service_command_failed reason=pipe errno=" << errno;
    return false;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(in[0]);
    close(in[1]);
    SYNMAP_LOG(ERROR) << "new_service_command_failed reason=fork errno=" << errno;
    return false;
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(in[0], STDIN_FILENO);
    const char* argv[] = {"/bin/sh", "-c", options_.command.c_str(), nullptr};
    execv("/bin/sh", const_cast<char* const*>(argv));
    _exit(127);
  }
  close(in[0]);
  // The JSON is far below the pipe's buffer, so this write does not wait for the command.
  sigset_t pipe_signal, old;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
  const bool written = write(in[1], json.data(), json.size()) == static_cast<ssize_t>(json.size());
  close(in[1]);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  const absl::Time deadline = absl::Now() + options_.command_timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      break;
    }
    if (done < 0 && errno != EINTR) {
      SYNMAP_LOG(ERROR) << "new_service_command_failed reason=waitpid errno=" << errno;
      return false;
    }
    if (absl::Now() >= deadline || stop_.HasBeenNotified()) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      SYNMAP_LOG(WARNING) << "new_service_command_failed reason="
                          << (stop_.HasBeenNotified() ? "shutdown" : "timeout")
                          << " timeout=" << options_.command_timeout;
      return false;
    }
    // Short sleeps: the command usually ends within milliseconds; Stop() waits at most this.
    stop_.WaitForNotificationWithTimeout(absl::Milliseconds(20));
  }
  if (!written || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    SYNMAP_LOG(WARNING) << "new_service_command_failed reason=exit status="
                        << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                        << " input_written=" << written;
    return false;
  }
  return true;
}

}  // namespace synmap::collector
