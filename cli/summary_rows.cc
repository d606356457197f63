#include "cli/summary_rows.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"
#include "cli/summary_table.h"
#include "common/naming/labeler.h"

namespace synmap::cli {
namespace {

// The rows of one summary of `blocks`: named, grouped and sorted once; ForEach formats each
// row's cells as it hands them out, so no row holds a string. Holds per address its value (17
// B) and its labels (5 B), and per row its sums (SummaryGroup, 64 B), in their order.
// Not movable: the Labeler borrows the address dictionary.
class SummaryRows {
 public:
  SummaryRows(RecordBlocks blocks, const common::NameTable& names, bool show_remote,
              common::CountKind count, common::RowOrder order, absl::string_view site)
      : count_(count), site_(site) {
    // One pass over the records: each address is given its id in the address dictionary (the
    // Labeler names by id, as the collector's store keeps one) and each record is summed into
    // its row, then its block is freed (`= {}` would keep the memory), so the records and the
    // rows are not all held at once.
    size_t records = 0;
    for (const std::vector<common::Record>& block : blocks) {
      records += block.size();
    }
    // At most two addresses a record: reserved (only the pages used are taken), so the
    // dictionary is never copied while it grows.
    ips_.reserve(2 * records);
    labeler_ = std::make_unique<common::Labeler>(names, ips_, show_remote);
    common::SummaryGrouper grouper(*labeler_);
    grouper.Reserve(records);
    const uint32_t site_id = labeler_->SiteId(site);
    absl::flat_hash_set<uint32_t, IpHash, IpEq> index(0, IpHash{&ips_}, IpEq{&ips_});
    auto id_of = [&](const common::IpAddress& ip) {
      return *index.lazy_emplace(IpWords(ip), [&](const auto& make) {
        make(static_cast<uint32_t>(ips_.size()));
        ips_.push_back(ip);
      });
    };
    // The index outgrows the caches on big answers: each lookup is prefetched a few records
    // ahead to overlap the misses.
    constexpr size_t kPrefetchDistance = 8;
    for (std::vector<common::Record>& block : blocks) {
      for (size_t i = 0; i < block.size(); ++i) {
        if (i + kPrefetchDistance < block.size()) {
          index.prefetch(IpWords(block[i + kPrefetchDistance].key.client));
          index.prefetch(IpWords(block[i + kPrefetchDistance].key.server));
        }
        const common::Record& r = block[i];
        grouper.Add(id_of(r.key.client), id_of(r.key.server), r.key.server_port, common::kNoSensor,
                    site_id, {r.packets, r.connections, r.first_seen_ns, r.last_seen_ns});
      }
      block = std::vector<common::Record>();
    }
    // Freed before the sort: the dictionary's index, and the Labeler's caches (the labels are
    // made).
    index = decltype(index)(0, IpHash{&ips_}, IpEq{&ips_});
    labeler_->ForgetAddressCaches();
    groups_ = grouper.Sum();
    static const std::string kNoName;
    common::SortGroups(groups_, count, order, std::numeric_limits<size_t>::max(), *labeler_,
                       [](uint32_t) -> const std::string& { return kNoName; });
  }
  SummaryRows(const SummaryRows&) = delete;
  SummaryRows& operator=(const SummaryRows&) = delete;

  size_t size() const { return groups_.size(); }

  // Hands the cells of rows [begin, end) (SummaryCellViews: views valid for the call) to `row`,
  // in order. Thread-safe (const): the Labeler's Text() only reads.
  void ForEach(size_t begin, size_t end, OutputFormat format, absl::TimeZone zone,
               absl::FunctionRef<void(absl::Span<const absl::string_view> cells)> row) const {
    const bool json = format == OutputFormat::kJson;  // The only format with the addresses.
    SummaryCellScratch scratch;
    common::Labeler::TextBuffer client, server, service, client_ip, server_ip;
    auto ip_text = [&](int64_t id, common::Labeler::TextBuffer& buffer) {
      return json && id >= 0
                 ? labeler_->Text(common::Labeler::IpLabel(static_cast<uint32_t>(id)), buffer)
                 : absl::string_view();
    };
    // The rows' addresses are all over the dictionary: those of a few rows ahead are
    // prefetched.
    constexpr size_t kPrefetchRows = 8;
    for (size_t i = begin; i < end; ++i) {
      if (i + kPrefetchRows < end) {
        const common::SummaryGroup& ahead = groups_[i + kPrefetchRows];
        labeler_->Prefetch(ahead.client);
        labeler_->Prefetch(ahead.server);
      }
      const common::SummaryGroup& g = groups_[i];
      const common::GroupTotals& t = g.totals;
      row(SummaryCellViews({.count = g.Count(count_),
                            .site = site_,
                            .client = labeler_->Text(g.client, client),
                            .server = labeler_->Text(g.server, server),
                            .service = labeler_->Text(g.service, service),
                            .sensor = {},
                            .server_port = t.port >= 0 ? static_cast<uint32_t>(t.port) : 0,
                            .server_ip = ip_text(t.server_ip, server_ip),
                            .client_ip = ip_text(t.client_ip, client_ip),
                            .packets = t.packets,
                            .connections = t.connections,
                            .first_seen_ns = t.first_ns,
                            .last_seen_ns = t.last_ns},
                           /*by_sensor=*/false, format, zone, /*with_site=*/!site_.empty(),
                           scratch));
    }
  }

 private:
  // An address as two words and its length: hashed and compared without a byte loop.
  struct IpWords {
    uint64_t high, low;
    uint8_t length;
    explicit IpWords(const common::IpAddress& ip) : length(ip.length) {
      std::memcpy(&high, ip.bytes.data(), 8);
      std::memcpy(&low, ip.bytes.data() + 8, 8);
    }
    bool operator==(const IpWords&) const = default;
  };
  // Hash and equality of address ids by their address, so the dictionary's index holds 4-byte
  // ids (and finds an id from an address).
  struct IpHash {
    using is_transparent = void;
    const std::vector<common::IpAddress>* ips;
    size_t operator()(uint32_t id) const { return (*this)(IpWords((*ips)[id])); }
    size_t operator()(const IpWords& ip) const { return absl::HashOf(ip.high, ip.low ^ ip.length); }
  };
  struct IpEq {
    using is_transparent = void;
    const std::vector<common::IpAddress>* ips;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const IpWords& b) const { return IpWords((*ips)[a]) == b; }
    bool operator()(const IpWords& a, uint32_t b) const { return a == IpWords((*ips)[b]); }
  };

  common::CountKind count_;
  absl::string_view site_;
  std::vector<common::IpAddress> ips_;
  std::unique_ptr<common::Labeler> labeler_;
  std::vector<common::SummaryGroup> groups_;  // In the answer's order.
};

// Writes `rows` to `writer`, in order. Formatting is most of the output's time: from two chunks
// of kChunkRows on, this thread formats the even chunks and a second thread the odd ones, one
// chunk each at a time, and this thread writes them in turn (memory: two chunks of text).
void WriteRows(const SummaryRows& rows, OutputFormat format, absl::TimeZone zone,
               TableWriter& writer) {
  constexpr size_t kChunkRows = 4096;
  const size_t n = rows.size();
  const size_t chunks = (n + kChunkRows - 1) / kChunkRows;
  if (chunks < 2) {
    rows.ForEach(0, n, format, zone, [&](absl::Span<const absl::string_view> c) { writer.Add(c); });
    return;
  }
  const uint64_t first_index = writer.rows();
  // Formats chunk `chunk` into `out` (emptied first); returns its rows.
  auto format_chunk = [&](size_t chunk, std::string& out) {
    const size_t begin = chunk * kChunkRows;
    const size_t end = std::min(n, begin + kChunkRows);
    out.clear();
    uint64_t index = first_index + begin;
    rows.ForEach(begin, end, format, zone,
                 [&](absl::Span<const absl::string_view> c) { writer.Format(c, index++, &out); });
    return end - begin;
  };
  // Each thread's chunk text on a cache line of its own: the string's size is written at every
  // cell, and two threads writing one line would pass it back and forth (a third of the
  // formatting's time when `even` and `odd` were neighbours on the stack).
  struct alignas(64) ChunkText {
    std::string text;
  };
  ChunkText even_chunk;
  ChunkText odd_chunk;  // The second thread's chunk: its own from asked > k until done > k.
  std::string& even = even_chunk.text;
  std::string& odd = odd_chunk.text;
  size_t odd_rows = 0;
  struct {
    absl::Mutex mu;
    size_t asked ABSL_GUARDED_BY(mu) = 0;  // Odd chunks 2k + 1 (k < asked) may be made.
    size_t done ABSL_GUARDED_BY(mu) = 0;   // Odd chunks 2k + 1 (k < done) were made.
  } odd_chunks;
  std::thread odd_formatter([&] {
    for (size_t k = 0; 2 * k + 1 < chunks; ++k) {
      {
        absl::MutexLock lock(&odd_chunks.mu);
        auto asked = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(odd_chunks.mu) {
          return odd_chunks.asked > k;
        };
        odd_chunks.mu.Await(absl::Condition(&asked));
      }
      odd_rows = format_chunk(2 * k + 1, odd);
      absl::MutexLock lock(&odd_chunks.mu);
      odd_chunks.done = k + 1;
    }
  });
  for (size_t k = 0; 2 * k < chunks; ++k) {
    {
      absl::MutexLock lock(&odd_chunks.mu);
      odd_chunks.asked = k + 1;  // The odd chunk before was written: `odd` may be reused.
    }
    writer.AddFormatted(even, format_chunk(2 * k, even));
    if (2 * k + 1 < chunks) {
      {
        absl::MutexLock lock(&odd_chunks.mu);
        auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(odd_chunks.mu) {
          return odd_chunks.done > k;
        };
        odd_chunks.mu.Await(absl::Condition(&done));
      }
      writer.AddFormatted(odd, odd_rows);  // Not under the lock: it may write to the stream.
    }
  }
  odd_formatter.join();
}

}  // namespace

void SummarizeRecordsTo(RecordBlocks blocks, const common::NameTable& names, bool show_remote,
                        common::CountKind count, common::RowOrder order, OutputFormat format,
                        absl::TimeZone zone, TableWriter& writer, absl::string_view site) {
  const SummaryRows rows(std::move(blocks), names, show_remote, count, order, site);
  if (writer.measures()) {
    // Text pads its columns to the widest cell: a first pass measures, so the rows need not
    // be kept (formatting a row twice costs less than holding it).
    rows.ForEach(0, rows.size(), format, zone,
                 [&](absl::Span<const absl::string_view> c) { writer.Measure(c); });
  }
  WriteRows(rows, format, zone, writer);
}

Table SummarizeRecords(RecordBlocks blocks, const common::NameTable& names, bool show_remote,
                       common::CountKind count, common::RowOrder order, OutputFormat format,
                       absl::TimeZone zone, absl::string_view site) {
  Table table;
  table.columns = SummaryTableColumns(/*by_sensor=*/false, /*with_site=*/!site.empty());
  const SummaryRows rows(std::move(blocks), names, show_remote, count, order, site);
  rows.ForEach(0, rows.size(), format, zone, [&](absl::Span<const absl::string_view> cells) {
    table.rows.emplace_back(cells.begin(), cells.end());
  });
  return table;
}

}  // namespace synmap::cli
