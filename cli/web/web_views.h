#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/collector_client.h"
#include "cli/summary_query.h"
#include "cli/web/request_params.h"

namespace synmap::cli::web {

// One answer of `synmap web`: status, body and how to label it.
struct WebResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::string download_name;  // Non-empty: sent as an attachment of this file name.
};

// The views of `synmap web`, each asking the collector once per request through `conn` and
// answering what the matching CLI command prints, with the same coverage statement:
//   /           the service map (Graphviz SVG; a click on a server, service or client opens the
//               summary narrowed to it)        -- synmap graph
//   /summary    the summary table, sortable and paged  -- synmap summary --format tsv
//   /new, /gone services first seen in / silent in the window -- synmap new, synmap gone
//   /sensors    the sensors' health            -- synmap sensors
//   /downloads  links to the files below; /download/NAME: summary.csv, summary.json,
//               export.csv, rules.nft, rules.iptables, rules.ip6tables -- synmap summary/export
// A bad parameter, or a query the collector refuses, gives 400 with the CLI's message; an
// unreachable or failing collector 502 with DescribeCallError's message. Thread-safe (the gRPC stub
// is; the rest is immutable).
class WebViews {
 public:
  // `zone` reads and prints times (local, or UTC as with the CLI's --utc).
  WebViews(CollectorConnection conn, absl::TimeZone zone);
  WebViews(const WebViews&) = delete;
  WebViews& operator=(const WebViews&) = delete;

  WebResponse Map(const RequestParams& params) const;
  WebResponse Summary(const RequestParams& params) const;
  WebResponse Sightings(const RequestParams& params, bool gone) const;
  WebResponse Sensors(const RequestParams& params) const;
  WebResponse Downloads(const RequestParams& params) const;
  // `name` is the file asked for ("summary.csv"); 404 for an unknown one.
  WebResponse Download(absl::string_view name, const RequestParams& params) const;

  // A page saying `message` with `status` (404, 405, ...).
  static WebResponse ErrorPage(int status, absl::string_view title, absl::string_view message);

 private:
  // Runs `call(stub, context)` with the connection's deadline; an error page when it fails.
  template <typename Call>
  std::optional<WebResponse> Ask(Call call) const;

  // The collector's summary for `flags` (at most `top` rows; 0: all) into `resp`, or the page
  // saying why there is none (400 bad flag, 400/502 as Ask).
  std::optional<WebResponse> AskSummary(const SummaryQueryFlags& flags, uint32_t top,
                                        synmap::v1::SummaryResponse* resp) const;

  CollectorConnection conn_;
  absl::TimeZone zone_;
};

}  // namespace synmap::cli::web
