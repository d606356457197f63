#include "bench/truth_table.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/site_model.h"

namespace synmap::bench {

bool TruthTable::Add(const SynAckFacts& facts) {
  const int64_t now = facts.time_ns;
  while (!expiry_.empty() && expiry_.front().first <= now - kRetransmissionWindowNs) {
    auto it = handshakes_.find(expiry_.front().second);
    // A handshake counted again later has a newer time: keep it.
    if (it != handshakes_.end() && it->second == expiry_.front().first) {
      handshakes_.erase(it);
    }
    expiry_.pop_front();
  }
  const Handshake handshake{facts.server, facts.client, facts.server_port, facts.client_port,
                            facts.isn};
  auto [it, inserted] = handshakes_.try_emplace(handshake, now);
  const bool is_connection = inserted || now - it->second >= kRetransmissionWindowNs;
  if (is_connection) {
    it->second = now;
    expiry_.emplace_back(now, handshake);
  }
  Counts& counts = keys_[Key{facts.client, facts.server, facts.server_port}];
  if (counts.packets == 0) {
    counts.first_seen_ns = now;
  }
  counts.packets++;
  counts.last_seen_ns = std::max(counts.last_seen_ns, now);
  counts.first_seen_ns = std::min(counts.first_seen_ns, now);
  packets_++;
  if (is_connection) {
    counts.connections++;
    connections_++;
  }
  return is_connection;
}

TruthTotals TruthTable::totals() const {
  return TruthTotals{packets_, connections_, static_cast<uint64_t>(keys_.size())};
}

absl::Status TruthTable::WriteTsv(const std::string& path) const {
  std::vector<std::pair<Key, Counts>> rows(keys_.begin(), keys_.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "w"), &std::fclose);
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open truth file ", path));
  }
  std::fputs(
      "client_ip\tserver_ip\tserver_port\tpackets\tconnections\tfirst_seen_ns\tlast_seen_ns\n",
      file.get());
  for (const auto& [key, counts] : rows) {
    std::fprintf(file.get(), "%s\t%s\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%" PRId64 "\n",
                 FormatIp(key.client).c_str(), FormatIp(key.server).c_str(),
                 static_cast<unsigned>(key.server_port), counts.packets, counts.connections,
                 counts.first_seen_ns, counts.last_seen_ns);
  }
  if (std::ferror(file.get()) != 0 || std::fclose(file.release()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("write truth file ", path));
  }
  return absl::OkStatus();
}

}  // namespace synmap::bench
