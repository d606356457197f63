#include "common/naming/service_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;

constexpr char kServices[] =
    "# Network services, Internet style\n"
    "\n"
    "ftp\t\t21/tcp\n"
    "ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\n"
    "domain\t\t53/udp\n"
    "http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP\n"
    "www-alt\t\t80/tcp\n"    // Second name for 80: the first wins.
    "bootps\t\t67/udp\n"     // udp only.
    "broken-line\n"          // No port: skipped.
    "toobig\t\t70000/tcp\n"  // Out of range: skipped.
    "negative\t-5/tcp\n"     // Not a port: skipped.
    "rsync\t\t873/tcp\r\n";  // CRLF tolerated.

TEST(ServiceTableTest, KeepsTcpEntriesFirstNameWins) {
  const ServiceTable table = ServiceTable::Parse(kServices);
  ASSERT_NE(table.Find(22), nullptr);
  EXPECT_EQ(*table.Find(22), "ssh");
  ASSERT_NE(table.Find(80), nullptr);
  EXPECT_EQ(*table.Find(80), "http");
  ASSERT_NE(table.Find(873), nullptr);
  EXPECT_EQ(*table.Find(873), "rsync");
  EXPECT_EQ(table.Find(53), nullptr);
  EXPECT_EQ(table.Find(67), nullptr);
  EXPECT_EQ(table.size(), 4u);  // ftp, ssh, http, rsync.
}

TEST(ServiceTableTest, LoadsFromFile) {
  TempDir dir;
  const std::string path = dir.File("services");
  std::ofstream(path) << "smtp 25/tcp mail\n";
  ASSERT_OK_AND_ASSIGN(const ServiceTable table, ServiceTable::LoadFile(path));
  ASSERT_NE(table.Find(25), nullptr);
  EXPECT_EQ(*table.Find(25), "smtp");
}

TEST(ServiceTableTest, MissingFileIsNotFoundNamingPath) {
  TempDir dir;
  const absl::StatusOr<ServiceTable> table = ServiceTable::LoadFile(dir.File("nope"));
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(table.status().message()), ::testing::HasSubstr(dir.File("nope")));
}

TEST(ServiceTableTest, EmptyTableFindsNothing) { EXPECT_EQ(ServiceTable().Find(22), nullptr); }

}  // namespace
}  // namespace synmap::common
