// The spill file: header with the written offset, torn lines, rewrite with a prefix.
#include "store/spill_file.hpp"
#include "store/test_util.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace tandem::store {
namespace {

using namespace test_util;

constexpr std::uint64_t kMax = std::uint64_t{1} << 30;

std::vector<std::string> read_all(SpillFile& file, std::uint64_t from) {
  std::vector<std::string> lines;
  std::uint64_t next = 0;
  EXPECT_TRUE(file.read(from, file.end(), 1'000'000, lines, next));
  return lines;
}

TEST(SpillFile, AppendsLinesAfterAHeaderAndReadsThemBack) {
  TempDir dir;
  const auto path = dir.path() / "sub" / "j.spill";  // the directory is created
  SpillFile file(path, kMax);
  std::string error;
  ASSERT_TRUE(file.append("one", error)) << error;
  ASSERT_TRUE(file.append("two", error));
  ASSERT_TRUE(file.append(std::string(100'000, 'x'), error)) << "a line longer than a read chunk";
  ASSERT_TRUE(file.sync());
  EXPECT_EQ(read_file(path).substr(0, SpillFile::kHeaderSize),
            "TANDEM-SPILL 1 00000000000000000036\n");
  const auto lines = read_all(file, file.committed());
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0], "one");
  EXPECT_EQ(lines[2].size(), 100'000U);

  std::vector<std::string> two;
  std::uint64_t next = 0;
  ASSERT_TRUE(file.read(file.committed(), file.end(), 2, two, next));
  EXPECT_EQ(two, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(next, SpillFile::kHeaderSize + 8);
}

TEST(SpillFile, RecoverResumesAfterTheCommittedOffsetAndCutsATornLine) {
  TempDir dir;
  const auto path = dir.path() / "j.spill";
  std::uint64_t after_first = 0;
  {
    SpillFile file(path, kMax);
    std::string error;
    ASSERT_TRUE(file.append("a", error));
    after_first = file.end();
    ASSERT_TRUE(file.append("b", error));
    ASSERT_TRUE(file.append("c", error));
    ASSERT_TRUE(file.commit(after_first));
  }
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"k":"torn)";  // a crash in the middle of an append
  }
  SpillFile file(path, kMax);
  const auto recovered = file.recover();
  EXPECT_TRUE(recovered.problem.empty()) << recovered.problem;
  EXPECT_EQ(recovered.lines, 2U);
  EXPECT_EQ(file.committed(), after_first);
  EXPECT_EQ(read_all(file, file.committed()), (std::vector<std::string>{"b", "c"}));
  std::string error;
  ASSERT_TRUE(file.append("d", error));
  EXPECT_EQ(read_all(file, file.committed()), (std::vector<std::string>{"b", "c", "d"}));
}

TEST(SpillFile, RecoverRemovesAFileWithNothingUnwritten) {
  TempDir dir;
  const auto path = dir.path() / "j.spill";
  {
    SpillFile file(path, kMax);
    std::string error;
    ASSERT_TRUE(file.append("a", error));
    ASSERT_TRUE(file.commit(file.end()));
  }
  SpillFile file(path, kMax);
  EXPECT_EQ(file.recover().lines, 0U);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SpillFile, RecoverMovesAnUnreadableFileAside) {
  TempDir dir;
  const auto path = dir.path() / "j.spill";
  {
    std::ofstream out(path);
    out << "this is not a spill file header at all\n{}\n";
  }
  SpillFile file(path, kMax);
  const auto recovered = file.recover();
  EXPECT_EQ(recovered.lines, 0U);
  EXPECT_FALSE(recovered.problem.empty());
  EXPECT_FALSE(std::filesystem::exists(path));
  std::size_t aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    aside += e.path().filename().string().starts_with("j.spill.corrupt-") ? 1 : 0;
  }
  EXPECT_EQ(aside, 1U);
}

TEST(SpillFile, RefusesToGrowPastItsLimit) {
  TempDir dir;
  SpillFile file(dir.path() / "j.spill", SpillFile::kHeaderSize + 10);
  std::string error;
  EXPECT_TRUE(file.append("12345", error));
  EXPECT_FALSE(file.append("12345", error));
  EXPECT_NE(error.find("full"), std::string::npos);
  EXPECT_EQ(read_all(file, file.committed()), std::vector<std::string>{"12345"});
}

TEST(SpillFile, RewriteWithPrefixPutsThePrefixBeforeTheUnwrittenLines) {
  TempDir dir;
  const auto path = dir.path() / "j.spill";
  SpillFile file(path, kMax);
  std::string error;
  ASSERT_TRUE(file.append("old-written", error));
  ASSERT_TRUE(file.commit(file.end()));
  ASSERT_TRUE(file.append("spilled-1", error));
  ASSERT_TRUE(file.append("spilled-2", error));
  ASSERT_TRUE(file.rewrite_with_prefix({"mem-1", "mem-2"}, error)) << error;
  EXPECT_EQ(file.committed(), SpillFile::kHeaderSize);
  EXPECT_EQ(read_all(file, file.committed()),
            (std::vector<std::string>{"mem-1", "mem-2", "spilled-1", "spilled-2"}));
  ASSERT_TRUE(file.append("after", error));
  SpillFile again(path, kMax);
  EXPECT_EQ(again.recover().lines, 5U);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "j.spill.tmp"));
}

TEST(SpillFile, RewriteCreatesTheFileWhenThereWasNone) {
  TempDir dir;
  const auto path = dir.path() / "j.spill";
  SpillFile file(path, kMax);
  std::string error;
  ASSERT_TRUE(file.rewrite_with_prefix({"a"}, error)) << error;
  SpillFile again(path, kMax);
  EXPECT_EQ(again.recover().lines, 1U);
}

}  // namespace
}  // namespace tandem::store
