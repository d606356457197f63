#pragma once

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cli/table_format.h"
#include "common/aggregate/record.h"
#include "common/naming/name_table.h"
#include "common/naming/summary_groups.h"

namespace synmap::cli {

// The rows `synmap summarize` prints for `records`: named and grouped by the rule every
// summary uses, offline and on the collector (common::Labeler, common::SummaryGrouper:
// records whose client, server and service labels are equal are one row, summed), sorted by
// `order`, in the columns of `synmap summary` (SummaryTableColumns without a sensor). Hands
// each row's cells to `row` in order, so a TableWriter can write them as they come.
void SummarizeRecordsTo(std::vector<common::Record> records, const common::NameTable& names,
                        bool show_remote, common::CountKind count, common::RowOrder order,
                        OutputFormat format, absl::TimeZone zone,
                        absl::FunctionRef<void(std::vector<std::string> cells)> row);

// The same rows as a table.
Table SummarizeRecords(std::vector<common::Record> records, const common::NameTable& names,
                       bool show_remote, common::CountKind count, common::RowOrder order,
                       OutputFormat format, absl::TimeZone zone);

}  // namespace synmap::cli
