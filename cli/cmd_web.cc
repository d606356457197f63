// `synmap web`: the collector's answers as a web page (map, summary, new and gone services,
// sensors, downloads), served until SIGINT or SIGTERM.

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/web/web_server.h"
#include "cli/web/web_views.h"

namespace synmap::cli {

int RunWeb(absl::Span<const std::string> args) {
  QueryCommand cmd(
      "web",
      "usage: synmap web [--listen 127.0.0.1:8080] [--tls-cert FILE --tls-key FILE]\n"
      "                  [--password-file FILE] [--client-ca FILE] [--utc]\n\n"
      "Serves the collector's answers as a web page: the service map (Graphviz; click a\n"
      "server, service or client to filter the table), the summary table with the filters of\n"
      "`synmap summary` (sortable, paged), new and gone services, the sensors' health, and\n"
      "csv/json/nftables/iptables downloads. Each view states its coverage as the CLI does.\n"
      "Read-only (GET and HEAD). Binds loopback by default; any other address needs TLS\n"
      "(--tls-cert/--tls-key) and either --password-file (HTTP basic auth; one user:password\n"
      "a line, '#' comments) or client certificates (--client-ca). Runs until SIGINT/SIGTERM,\n"
      "renewing the reader certificate (--cert, rewritten in place) two thirds into its life.\n");
  web::WebServerOptions options;
  FlagParser& p = cmd.parser();
  p.AddString("listen", "HOST:PORT", &options.listen,
              "address to serve on (default 127.0.0.1:8080; port 0 picks one)");
  p.AddString("tls-cert", "FILE", &options.tls_cert, "serve HTTPS with this PEM certificate");
  p.AddString("tls-key", "FILE", &options.tls_key, "the PEM private key of --tls-cert");
  p.AddString("password-file", "FILE", &options.password_file,
              "require HTTP basic auth by these accounts (user:password lines)");
  p.AddString("client-ca", "FILE", &options.client_ca,
              "require TLS client certificates signed by this PEM CA");
  if (auto exit = cmd.Parse(args)) return *exit;
  if (absl::Status s = options.Validate(); !s.ok()) return cmd.UsageError(s.message());
  // Blocked before any thread starts (gRPC starts some with the channel), so only the sigwait
  // below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The page may be served for months: the reader certificate is renewed two thirds into its
  // life, as the sensor's is, and the channel picks the new file up (KeepRenewed).
  absl::StatusOr<CollectorConnection> conn =
      ConnectToCollector(cmd.connection_flags(), KeepRenewed{});
  if (!conn.ok()) return cmd.Fail(conn.status().message());
  const std::string target = conn->target;

  const web::WebViews views(*std::move(conn), cmd.zone());
  absl::StatusOr<std::unique_ptr<web::WebServer>> server = web::WebServer::Start(options, views);
  if (!server.ok()) return cmd.Fail(server.status().message());
  WriteAll(stderr,
           absl::StrCat("synmap web: serving ", (*server)->url(), " (collector ", target, ")\n"));
  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*server)->Stop();
  WriteAll(stderr, "synmap web: stopped\n");
  return kExitOk;
}

}  // namespace synmap::cli
