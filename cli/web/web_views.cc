#include "cli/web/web_views.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/graph_dot.h"
#include "cli/graph_render.h"
#include "cli/query_tables.h"
#include "cli/summary_query.h"
#include "cli/web/html.h"

namespace synmap::cli::web {

namespace v1 = ::synmap::v1;

namespace {

constexpr size_t kPageSize = 100;

WebResponse BadRequest(const absl::Status& status) {
  return WebViews::ErrorPage(400, "Bad request", status.message());
}

// `params` with `name` set to `value` (replaced when present).
UrlParams With(UrlParams params, const std::string& name, absl::string_view value) {
  params.erase(
      std::remove_if(params.begin(), params.end(), [&](const auto& p) { return p.first == name; }),
      params.end());
  params.emplace_back(name, std::string(value));
  return params;
}

std::string Given(const UrlParams& params, absl::string_view name) {
  for (const auto& [n, value] : params) {
    if (n == name) {
      return value;
    }
  }
  return "";
}

// A GET form over `names` (each a text field pre-filled from `given`), plus the count choice
// when `with_count`.
std::string FilterForm(absl::string_view path, const std::vector<std::string>& names,
                       const UrlParams& given, bool with_count) {
  std::string out =
      absl::StrCat("<form class=\"filters\" method=\"get\" action=\"", HtmlEscape(path), "\">\n");
  for (const std::string& name : names) {
    absl::StrAppend(&out, "<label>", name, "<input type=\"text\" name=\"", name, "\" value=\"",
                    HtmlEscape(Given(given, name)), "\"></label>\n");
  }
  if (with_count) {
    const bool packets = Given(given, "count") == "packets";
    absl::StrAppend(&out,
                    "<label>count<select name=\"count\"><option value=\"\">connections</option>"
                    "<option value=\"packets\"",
                    packets ? " selected" : "", ">packets</option></select></label>\n");
  }
  out += "<button type=\"submit\">Apply</button>\n</form>\n";
  return out;
}

// The rows of page `order.page` and links to the pages around it.
std::string PagedTableHtml(const Table& table, absl::string_view path, const UrlParams& given,
                           const TableOrder& order) {
  TableLinks links{.path = std::string(path),
                   .filters = given,
                   .sort = order.sort,
                   .descending = order.descending,
                   .page = order.page,
                   .page_size = kPageSize};
  UrlParams keep = given;
  if (!order.sort.empty()) {
    keep.emplace_back("sort", order.sort);
    keep.emplace_back("order", order.descending ? "desc" : "asc");
  }
  const size_t rows = table.rows.size();
  const size_t first = std::min(rows, (order.page - 1) * kPageSize);
  const size_t last = std::min(rows, first + kPageSize);
  std::string out =
      absl::StrCat("<p class=\"pager\">rows ", rows == 0 ? 0 : first + 1, "-", last, " of ", rows);
  if (order.page > 1) {
    absl::StrAppend(&out, "<a href=\"",
                    HtmlEscape(Url(path, With(keep, "page", absl::StrCat(order.page - 1)))),
                    "\">previous</a>");
  }
  if (last < rows) {
    absl::StrAppend(&out, "<a href=\"",
                    HtmlEscape(Url(path, With(keep, "page", absl::StrCat(order.page + 1)))),
                    "\">next</a>");
  }
  out += "</p>\n";
  absl::StrAppend(&out, TableHtml(table, first, kPageSize, &links));
  return out;
}

// The SVG element of Graphviz's document (its XML prolog and doctype cannot sit in HTML).
std::string InlineSvg(const std::string& svg) {
  const size_t at = svg.find("<svg");
  return at == std::string::npos ? "" : svg.substr(at);
}

const std::vector<std::string> kSummaryFilters = {"since",  "until",  "sensor", "site",
                                                  "server", "client", "service"};
const std::vector<std::string> kSightingsFilters = {"since", "until",  "sensor",
                                                    "site",  "server", "service"};

}  // namespace

WebViews::WebViews(CollectorConnection conn, absl::TimeZone zone)
    : conn_(std::move(conn)), zone_(zone) {}

WebResponse WebViews::ErrorPage(int status, absl::string_view title, absl::string_view message) {
  WebResponse response;
  response.status = status;
  response.body =
      PageHtml(title, "", absl::StrCat("<p class=\"error\">", HtmlEscape(message), "</p>\n"));
  return response;
}

template <typename Call>
std::optional<WebResponse> WebViews::Ask(Call call) const {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + conn_.timeout));
  const grpc::Status status = call(*conn_.stub, &context);
  if (status.ok()) {
    return std::nullopt;
  }
  // A query the collector refused (a filter it cannot read, an answer too large) is the
  // asker's to change; anything else means the collector could not answer.
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ErrorPage(400, "Query refused", DescribeCallError(conn_, status));
    default:
      return ErrorPage(502, "Collector unavailable", DescribeCallError(conn_, status));
  }
}

std::optional<WebResponse> WebViews::AskSummary(const SummaryQueryFlags& flags, uint32_t top,
                                                v1::SummaryResponse* resp) const {
  v1::SummaryRequest req;
  const absl::Status built = FillSummaryRequest(flags, top, absl::Now(), zone_, &req);
  if (!built.ok()) return BadRequest(built);
  return Ask([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Summary(ctx, req, resp);
  });
}

WebResponse WebViews::Map(const RequestParams& params) const {
  absl::StatusOr<SummaryParams> p = ParseSummaryParams(params);
  if (!p.ok()) return BadRequest(p.status());
  const size_t max_edges = kDefaultMaxEdges;
  v1::SummaryResponse resp;
  if (auto error = AskSummary(p->flags, static_cast<uint32_t>(max_edges), &resp)) return *error;
  const Table table = SummaryResponseTable(resp, false, OutputFormat::kText, zone_);
  // Graphviz copies a URL into the SVG's href as it is, and the SVG sits in HTML: escaped here.
  const UrlParams& base = p->filters;
  const GraphLinks links{
      .server =
          [&](absl::string_view server) {
            return HtmlEscape(Url("/summary", With(base, "server", server)));
          },
      .service =
          [&](absl::string_view server, absl::string_view service) {
            return HtmlEscape(
                Url("/summary", With(With(base, "server", server), "service", service)));
          },
      .client =
          [&](absl::string_view client) {
            return HtmlEscape(Url("/summary", With(base, "client", client)));
          },
  };
  const std::string dot = SummaryDot(
      table, max_edges, GraphCaption(resp.coverage(), p->flags.count == "packets", zone_), &links);
  absl::StatusOr<std::string> svg =
      RenderGraph(dot, LayoutFor(std::min(table.rows.size(), max_edges)), "svg");
  if (!svg.ok()) {
    return ErrorPage(500, "Map not drawn", svg.status().message());
  }
  WebResponse response;
  response.body = PageHtml(
      "Service map", "/",
      absl::StrCat(FilterForm("/", kSummaryFilters, p->filters, true),
                   "<p>Click a server, service or client to see its rows in the summary.</p>\n",
                   "<div class=\"map\">", InlineSvg(*svg), "</div>\n", "<p>",
                   std::min(table.rows.size(), max_edges), " of ", table.TotalRows(),
                   " rows drawn.</p>\n",
                   CoverageHtml(CoverageFooter(resp.coverage(), absl::Now(), zone_))));
  return response;
}

WebResponse WebViews::Summary(const RequestParams& params) const {
  absl::StatusOr<SummaryParams> p = ParseSummaryParams(params);
  if (!p.ok()) return BadRequest(p.status());
  v1::SummaryResponse resp;
  if (auto error = AskSummary(p->flags, 0, &resp)) return *error;
  Table table = SummaryResponseTable(resp, false, OutputFormat::kTsv, zone_);
  if (absl::Status s = SortTable(p->order, &table); !s.ok()) return BadRequest(s);
  WebResponse response;
  response.body =
      PageHtml("Summary", "/summary",
               absl::StrCat(FilterForm("/summary", kSummaryFilters, p->filters, true),
                            CoverageHtml(CoverageFooter(resp.coverage(), absl::Now(), zone_)),
                            PagedTableHtml(table, "/summary", p->filters, p->order)));
  return response;
}

WebResponse WebViews::Sightings(const RequestParams& params, bool gone) const {
  absl::StatusOr<SightingsParams> p = ParseSightingsParams(params, gone);
  if (!p.ok()) return BadRequest(p.status());
  v1::TimeRange range;
  const absl::Status parsed = ParseTimeRange(p->since, p->until, absl::Now(), zone_, &range);
  if (!parsed.ok()) return BadRequest(parsed);
  SightingsAnswer answer;
  if (auto error = Ask([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
        return AskSightings(stub, ctx, gone, range, p->filters, false, 0, &answer);
      })) {
    return *error;
  }
  Table table = SightingsTable(answer.rows, answer.total_rows, gone, OutputFormat::kCsv, zone_);
  if (absl::Status s = SortTable(p->order, &table); !s.ok()) return BadRequest(s);
  const char* path = gone ? "/gone" : "/new";
  WebResponse response;
  response.body =
      PageHtml(gone ? "Gone services" : "New services", path,
               absl::StrCat("<p>",
                            gone ? "Services seen before the window and silent inside it"
                                 : "Services whose first SYN/ACK ever stored is inside the window",
                            " (since ", HtmlEscape(p->since), ").</p>\n",
                            FilterForm(path, kSightingsFilters, p->given, false),
                            CoverageHtml(CoverageFooter(answer.coverage, absl::Now(), zone_)),
                            PagedTableHtml(table, path, p->given, p->order)));
  return response;
}

WebResponse WebViews::Sensors(const RequestParams& params) const {
  if (!params.empty()) {
    return BadRequest(absl::InvalidArgumentError(absl::StrCat(
        "unknown parameter '", params.begin()->first, "' (the sensors view takes none)")));
  }
  v1::SensorsResponse resp;
  if (auto error = Ask([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
        return stub.Sensors(ctx, v1::SensorsRequest(), &resp);
      })) {
    return *error;
  }
  const absl::Time now = absl::Now();
  const Table table = SensorsTable(resp, OutputFormat::kCsv, zone_, now);
  WebResponse response;
  response.body = PageHtml("Sensors", "/sensors",
                           absl::StrCat(CoverageHtml(CoverageFooter(resp.coverage(), now, zone_)),
                                        TableHtml(table, 0, table.rows.size(), nullptr)));
  return response;
}

namespace {

struct DownloadFile {
  const char* name;
  const char* what;
  const char* content_type;
  const char* export_format;  // nullptr: a summary file.
};
constexpr DownloadFile kDownloads[] = {
    {"summary.csv", "summary table, CSV (synmap summary --format csv)", "text/csv; charset=utf-8",
     nullptr},
    {"summary.json", "summary table with coverage, JSON (synmap summary --format json)",
     "application/json", nullptr},
    {"export.csv", "observed inbound services, CSV (synmap export --format csv)",
     "text/csv; charset=utf-8", "csv"},
    {"rules.nft", "nftables allow-list (synmap export --format nftables)",
     "text/plain; charset=utf-8", "nftables"},
    {"rules.iptables", "iptables-restore allow-list (synmap export --format iptables)",
     "text/plain; charset=utf-8", "iptables"},
    {"rules.ip6tables", "ip6tables-restore allow-list (synmap export --format ip6tables)",
     "text/plain; charset=utf-8", "ip6tables"},
};

}  // namespace

WebResponse WebViews::Downloads(const RequestParams& params) const {
  absl::StatusOr<SummaryParams> p = ParseSummaryParams(params);
  if (!p.ok()) return BadRequest(p.status());
  std::string body = absl::StrCat(
      FilterForm("/downloads", kSummaryFilters, p->filters, true),
      "<p>Each file holds the answer for the filters above, as the command named prints it. "
      "Firewall exports take no client filter and allow every service seen at least once; "
      "review them before loading.</p>\n<ul class=\"downloads\">\n");
  for (const DownloadFile& file : kDownloads) {
    absl::StrAppend(&body, "<li><a href=\"",
                    HtmlEscape(Url(absl::StrCat("/download/", file.name), p->filters)),
                    "\" download>", file.name, "</a>: ", HtmlEscape(file.what), "</li>\n");
  }
  body += "</ul>\n";
  WebResponse response;
  response.body = PageHtml("Downloads", "/downloads", body);
  return response;
}

WebResponse WebViews::Download(absl::string_view name, const RequestParams& params) const {
  const DownloadFile* file = nullptr;
  for (const DownloadFile& f : kDownloads) {
    if (name == f.name) file = &f;
  }
  if (file == nullptr) {
    return ErrorPage(404, "Not found", absl::StrCat("no download named '", name, "'"));
  }
  absl::StatusOr<SummaryParams> p = ParseSummaryParams(params);
  if (!p.ok()) return BadRequest(p.status());
  WebResponse response;
  response.content_type = file->content_type;
  response.download_name = file->name;
  if (file->export_format == nullptr) {
    v1::SummaryResponse resp;
    if (auto error = AskSummary(p->flags, 0, &resp)) return *error;
    const OutputFormat format = name == "summary.json" ? OutputFormat::kJson : OutputFormat::kCsv;
    AppendTable(
        SummaryResponseTable(resp, false, format, zone_), format,
        [&](std::string* out) { AppendCoverageJson(resp.coverage(), out); }, &response.body);
    return response;
  }
  if (!p->flags.filters.client.empty()) {
    return BadRequest(absl::InvalidArgumentError("client: exports take no client filter"));
  }
  v1::ExportRequest req;
  const absl::Status parsed =
      ParseTimeRange(p->flags.since, p->flags.until, absl::Now(), zone_, req.mutable_range());
  if (!parsed.ok()) return BadRequest(parsed);
  FillFilters(p->flags.filters, req.mutable_filters());
  req.set_min_connections(1);
  v1::ExportResponse resp;
  if (auto error = Ask([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
        return stub.Export(ctx, req, &resp);
      })) {
    return *error;
  }
  size_t omitted = 0;
  absl::StatusOr<std::string> text =
      ExportText(resp, file->export_format, NftTable(), 1, /*allow_empty=*/false, &omitted);
  if (!text.ok()) {
    return ErrorPage(409, "Nothing to export", text.status().message());
  }
  response.body = *std::move(text);
  return response;
}

}  // namespace synmap::cli::web
