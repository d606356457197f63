#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cli/table_format.h"
#include "common/aggregate/record.h"
#include "common/naming/name_table.h"
#include "common/naming/summary_groups.h"

namespace synmap::cli {

// Records in blocks, in any order (CaptureSummarizer::TakeRecordBlocks): each block is freed
// once summed, so the records and the rows made from them are not all held at once.
using RecordBlocks = std::vector<std::vector<common::Record>>;

// The rows `synmap summarize` prints for the records of `blocks`: named and grouped by the rule
// every summary uses, offline and on the collector (common::Labeler, common::SummaryGrouper:
// records whose client, server and service labels are equal are one row, summed), sorted by
// `order`, in the columns of `synmap summary` (SummaryTableColumns without a sensor), written
// to `writer` as they are formatted (text: a first pass over the rows measures the columns, so
// no row is kept). Memory: 8 bytes a record while grouping, 64 bytes a row (sorted in place),
// about 22 bytes a distinct address. With a `site` (summarize --site), the
// records are that site's: its names apply, and the rows carry a site column
// (SummaryTableColumns with_site), as the collector's rows of that site do.
void SummarizeRecordsTo(RecordBlocks blocks, const common::NameTable& names, bool show_remote,
                        common::CountKind count, common::RowOrder order, OutputFormat format,
                        absl::TimeZone zone, TableWriter& writer, absl::string_view site = "");

// The same rows as a table.
Table SummarizeRecords(RecordBlocks blocks, const common::NameTable& names, bool show_remote,
                       common::CountKind count, common::RowOrder order, OutputFormat format,
                       absl::TimeZone zone, absl::string_view site = "");

}  // namespace synmap::cli
