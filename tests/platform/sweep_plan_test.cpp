// Sweep files: the variants a grid, a zip, seeds and excludes make, their names and seeds, and
// errors that point at the sweep file's line, column and key.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "platform/sweep/sweep_plan.h"

namespace vbsim::platform {
namespace {

namespace fs = std::filesystem;

const char* const kBase = R"(name: base
duration: 200ms
seed: 7
guests:
  - name: vm0
    ram: 64MiB
host:
  ram: 128MiB
  policy:
    kind: timeline
    timeline:
      - {at: 10ms, guest: vm0, balloon: 16MiB}
)";

class SweepPlanTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "vbsim-sweep-plan-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        write("base.yaml", kBase);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name) << text;
    }

    // Loads `text` as a sweep file; the errors, one per line, or "" when it loaded.
    std::string load(const std::string& text) {
        write("sweep.yaml", text);
        std::vector<LoadError> errors;
        plan_ = SweepPlan();
        std::string out;
        if (!load_sweep_plan((dir_ / "sweep.yaml").string(), plan_, errors)) {
            for (const LoadError& error : errors) {
                out += error.to_string() + "\n";
            }
            EXPECT_FALSE(out.empty());
        }
        return out;
    }
    std::string sweep_file() const { return (dir_ / "sweep.yaml").string(); }

    fs::path dir_;
    SweepPlan plan_;
};

TEST_F(SweepPlanTest, GridVariesTheFirstPathSlowestAndNamesEachVariant) {
    ASSERT_EQ(load("base: base.yaml\n"
                   "grid:\n"
                   "  platform.balloon.inflate.transport_cost: [100us, 400us]\n"
                   "  guests[0].ram: [64MiB, 96MiB, 128MiB]\n"),
              "");
    ASSERT_EQ(plan_.variants.size(), 6u);
    EXPECT_EQ(plan_.grid_size, 6u);
    EXPECT_EQ(plan_.file.name, "sweep");
    EXPECT_EQ(plan_.varied_paths, (std::vector<std::string>{
                                      "platform.balloon.inflate.transport_cost", "guests[0].ram"}));
    EXPECT_EQ(plan_.variants[0].values, (std::vector<std::string>{"100us", "64MiB"}));
    EXPECT_EQ(plan_.variants[2].values, (std::vector<std::string>{"100us", "128MiB"}));
    EXPECT_EQ(plan_.variants[3].values, (std::vector<std::string>{"400us", "64MiB"}));
    EXPECT_EQ(plan_.variants[5].name, "5-transport_cost_400us-ram_128MiB");
    EXPECT_EQ(plan_.variants[4].overrides(),
              (std::vector<std::string>{"platform.balloon.inflate.transport_cost=400us",
                                        "guests[0].ram=96MiB",
                                        "seed=" + std::to_string(variant_seed(7, 4)),
                                        "name=4-transport_cost_400us-ram_96MiB"}));
}

TEST_F(SweepPlanTest, SeedsAreDerivedFromTheBaseSeedAndTheIndex) {
    ASSERT_EQ(load("base: base.yaml\ngrid:\n  guests[0].ram: [64MiB, 96MiB]\n"), "");
    EXPECT_EQ(plan_.file.base_seed, 7u);
    EXPECT_EQ(plan_.variants[0].seed, variant_seed(7, 0));
    EXPECT_EQ(plan_.variants[1].seed, variant_seed(7, 1));
    EXPECT_NE(variant_seed(7, 0), variant_seed(7, 1));
    EXPECT_NE(variant_seed(7, 0), variant_seed(8, 0));
    EXPECT_EQ(variant_seed(7, 0), variant_seed(7, 0));
    EXPECT_LT(variant_seed(~0ull, 12345), uint64_t{1} << 53);  // exact in summary.json
}

TEST_F(SweepPlanTest, ASeedsListAddsTheInnermostDimension) {
    ASSERT_EQ(load("base: base.yaml\ngrid:\n  guests[0].ram: [64MiB, 96MiB]\nseeds: [1, 2, 3]\n"),
              "");
    ASSERT_EQ(plan_.variants.size(), 6u);
    EXPECT_TRUE(plan_.varies_seed);
    EXPECT_EQ(plan_.variants[1].base_seed, 2u);
    EXPECT_EQ(plan_.variants[1].seed, variant_seed(2, 1));
    EXPECT_EQ(plan_.variants[3].values, (std::vector<std::string>{"96MiB"}));
    EXPECT_EQ(plan_.variants[3].name, "3-ram_96MiB-seed_1");
}

TEST_F(SweepPlanTest, ZippedListsVaryTogether) {
    ASSERT_EQ(load("base: base.yaml\n"
                   "zip:\n"
                   "  guests[0].ram: [64MiB, 96MiB, 128MiB]\n"
                   "  host.ram: [128MiB, 192MiB, 256MiB]\n"),
              "");
    ASSERT_EQ(plan_.variants.size(), 3u);
    EXPECT_EQ(plan_.variants[2].values, (std::vector<std::string>{"128MiB", "256MiB"}));
}

TEST_F(SweepPlanTest, ZippedListsOfDifferentLengthsAreAnErrorAtTheShorterList) {
    EXPECT_EQ(load("base: base.yaml\n"
                   "zip:\n"
                   "  guests[0].ram: [64MiB, 96MiB, 128MiB]\n"
                   "  host.ram: [128MiB, 192MiB]\n"),
              sweep_file() +
                  ":4:13: zip.host.ram: has 2 values; zip.guests[0].ram has 3: zipped lists vary "
                  "together and need one length\n");
}

TEST_F(SweepPlanTest, ExcludesDropVariantsButKeepTheOthersIndices) {
    ASSERT_EQ(load("base: base.yaml\n"
                   "grid:\n"
                   "  platform.balloon.inflate.transport_cost: [100us, 400us]\n"
                   "  guests[0].ram: [64MiB, 96MiB]\n"
                   "exclude:\n"
                   "  - platform.balloon.inflate.transport_cost: 100us\n"
                   "    guests[0].ram: 96MiB\n"),
              "");
    EXPECT_EQ(plan_.grid_size, 4u);
    ASSERT_EQ(plan_.variants.size(), 3u);
    EXPECT_EQ(plan_.variants[0].index, 0u);
    EXPECT_EQ(plan_.variants[1].index, 2u);
    EXPECT_EQ(plan_.variants[2].index, 3u);
}

TEST_F(SweepPlanTest, AnExcludeNamingAnUnvariedPathOrUnlistedValueIsAnError) {
    EXPECT_EQ(load("base: base.yaml\n"
                   "grid:\n"
                   "  guests[0].ram: [64MiB, 96MiB]\n"
                   "exclude:\n"
                   "  - host.ram: 1GiB\n"
                   "  - guests[0].ram: 65MiB\n"),
              sweep_file() + ":5:5: exclude[0].host.ram: not a path this sweep varies\n" +
                  sweep_file() +
                  ":6:20: exclude[1].guests[0].ram: '65MiB' is not one of this path's values\n");
}

TEST_F(SweepPlanTest, ExcludingEveryVariantIsAnError) {
    EXPECT_NE(load("base: base.yaml\ngrid:\n  guests[0].ram: [64MiB]\n"
                   "exclude:\n  - guests[0].ram: 64MiB\n")
                  .find("every variant is excluded"),
              std::string::npos);
}

TEST_F(SweepPlanTest, AValueThatDoesNotFitItsPathIsReportedAtTheValue) {
    const std::string errors = load("base: base.yaml\ngrid:\n  guests[0].ram: [64MiB, lots]\n");
    EXPECT_EQ(errors.rfind(sweep_file() + ":3:26: guests[0].ram: ", 0), 0u) << errors;
    EXPECT_NE(errors.find("(variant 1-ram_lots)"), std::string::npos) << errors;
}

TEST_F(SweepPlanTest, AMisspeltPathIsReportedOnceAtThePath) {
    const std::string errors =
        load("base: base.yaml\ngrid:\n  guests[0].rma: [64MiB, 96MiB, 128MiB]\n");
    EXPECT_EQ(errors, sweep_file() +
                          ":3:3: guests[0].rma: unknown key 'rma' (did you mean 'ram'?) (variant "
                          "0-rma_64MiB)\n");
    // A parameter name that names nothing, too.
    EXPECT_EQ(load("base: base.yaml\ngrid:\n  vm0.balloon.frob: [1, 2]\n")
                  .rfind(sweep_file() + ":3:3: vm0.balloon.frob: no parameter named", 0),
              0u);
}

TEST_F(SweepPlanTest, AnInlineBaseIsCheckedWithLinesOfTheSweepFile) {
    const std::string errors = load(
        "name: inline\n"
        "base:\n"
        "  duration: 200ms\n"
        "  guests:\n"
        "    - {name: vm0, ram: 64MiB}\n"
        "  host:\n"
        "    ram: 12 apples\n"
        "grid:\n"
        "  guests[0].ram: [64MiB]\n");
    EXPECT_EQ(errors.rfind(sweep_file() + ":7:10: host.ram: ", 0), 0u) << errors;
}

TEST_F(SweepPlanTest, AnInlineBaseRuns) {
    ASSERT_EQ(load("base:\n"
                   "  duration: 200ms\n"
                   "  guests:\n"
                   "    - {name: vm0, ram: 64MiB}\n"
                   "  host:\n"
                   "    ram: 128MiB\n"
                   "grid:\n"
                   "  guests[0].ram: [64MiB, 32MiB]\n"),
              "");
    EXPECT_TRUE(plan_.file.base_path.empty());
    EXPECT_EQ(plan_.file.base_text.rfind("duration: 200ms\nguests:\n", 0), 0u);
    EXPECT_EQ(plan_.variants.size(), 2u);
}

TEST_F(SweepPlanTest, TheSweepFilesOwnMistakesAreEachReported) {
    EXPECT_EQ(load("base: base.yaml\n"
                   "grids:\n"
                   "  guests[0].ram: [64MiB]\n"
                   "seeds: [1, x, 1]\n"),
              sweep_file() +
                  ":2:1: grids: unknown key; a sweep file has name, base, grid, zip, "
                  "seeds and exclude\n" +
                  sweep_file() + ":4:12: seeds: expected a whole number, got 'x'\n" + sweep_file() +
                  ":4:15: seeds: the seed 1 is listed twice\n");
    EXPECT_EQ(load("base: base.yaml\ngrid:\n  seed: [1, 2]\n  name: [a]\n"),
              sweep_file() + ":3:3: grid.seed: vary the seed with the 'seeds' list\n" +
                  sweep_file() + ":4:3: grid.name: each variant is named by the sweep\n");
    EXPECT_EQ(load("base: base.yaml\ngrid:\n  guests[0].ram: [64MiB, 64MiB]\n"),
              sweep_file() + ":3:26: grid.guests[0].ram: the value '64MiB' is listed twice\n");
    EXPECT_EQ(load("base: base.yaml\ngrid:\n  guests[0].ram: []\n"),
              sweep_file() + ":3:18: grid.guests[0].ram: expected a non-empty list of values\n");
    EXPECT_EQ(load("base: base.yaml\n"),
              sweep_file() + ":1:1: nothing varies: give a grid, a zip or a seeds list\n");
    EXPECT_NE(load("grid:\n  guests[0].ram: [64MiB]\n").find("base: missing"), std::string::npos);
    EXPECT_NE(load("base: nowhere.yaml\ngrid:\n  guests[0].ram: [64MiB]\n")
                  .find(":1:7: base: cannot read the scenario file"),
              std::string::npos);
}

TEST_F(SweepPlanTest, ASweepOfTooManyVariantsIsRefusedBeforeExpanding) {
    std::string values = "[";
    for (int i = 0; i < 400; ++i) {
        values += (i > 0 ? ", " : "") + std::to_string(64 + i) + "MiB";
    }
    values += "]";
    EXPECT_NE(load("base: base.yaml\ngrid:\n  guests[0].ram: " + values +
                   "\n  host.ram: " + values + "\nseeds: [1]\n")
                  .find(":3:3: grid: the sweep has more than 100000 variants"),
              std::string::npos);
}

TEST_F(SweepPlanTest, AVariantWithoutSummaryJsonIsRefusedAtItsValue) {
    const std::string errors =
        load("base: base.yaml\ngrid:\n  output.files: [[summary.json], [report.html]]\n");
    EXPECT_EQ(errors, sweep_file() +
                          ":3:34: output.files: a sweep reads each variant's summary.json: keep "
                          "it in output.files (variant 1-files__report.html_)\n");
    EXPECT_EQ(load("base: base.yaml\ngrid:\n  output.files: [[summary.json], [summary.json, "
                   "report.html]]\n"),
              "");
}

TEST_F(SweepPlanTest, ABaseWithoutSummaryJsonIsRefused) {
    write("quiet.yaml", std::string(kBase) + "output:\n  files: [timeseries.csv]\n");
    EXPECT_NE(load("base: quiet.yaml\ngrid:\n  guests[0].ram: [64MiB]\n")
                  .find("base.output.files: a sweep reads each variant's summary.json"),
              std::string::npos);
}

}  // namespace
}  // namespace vbsim::platform
