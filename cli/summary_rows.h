#pragma once

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cli/table_format.h"
#include "common/aggregate/record.h"
#include "common/naming/name_table.h"
#include "common/naming/summary_groups.h"

namespace synmap::cli {

// The table `synmap summarize` prints for `records`: named and grouped by the rule every
// summary uses, offline and on the collector (common::Labeler, common::SummaryGrouper:
// records whose client, server and service labels are equal are one row, summed), sorted by
// `order`, in the columns of `synmap summary` (SummaryTableColumns without a sensor).
Table SummarizeRecords(absl::Span<const common::Record> records, const common::NameTable& names,
                       bool show_remote, common::CountKind count, common::RowOrder order,
                       OutputFormat format, absl::TimeZone zone);

}  // namespace synmap::cli
