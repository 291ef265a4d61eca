// JsonFlattener: JSON events get the names the EVTX reader gives, so one Sigma rule fits both.

#include "mimamori/hunt/json_flattener.h"

#include <gtest/gtest.h>

#include "mimamori/core/eve.h"

namespace mimamori::hunt {
namespace {

std::vector<std::pair<std::string, std::string>> flat(std::string_view json) {
  core::Fields f;
  EXPECT_TRUE(core::parse_json_object(json, f).ok());
  std::vector<std::pair<std::string, std::string>> out;
  JsonFlattener().flatten(f, out);
  return out;
}

TEST(JsonFlattener, EvtxDumpShapeGetsReaderNames) {
  auto out =
      flat(R"({"Event":{"#attributes":{"xmlns":"http://x"},"System":{"Provider":{"#attributes":)"
           R"({"Name":"Sysmon"}},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},)"
           R"("EventData":{"Command Line":"cmd.exe /c","IsOk":true,"Ratio":0.5}}})");
  std::vector<std::pair<std::string, std::string>> want = {
      {"Provider_Name", "Sysmon"},
      {"EventID", "1"},
      {"Channel", "Microsoft-Windows-Sysmon/Operational"},
      {"CommandLine", "cmd.exe /c"},
      {"IsOk", "true"},
      {"Ratio", "0.5"}};
  EXPECT_EQ(out, want);
}

TEST(JsonFlattener, TextNodeTakesItsParentsName) {
  auto out = flat(R"({"Data":{"#text":"value"},"List":["a","b"]})");
  std::vector<std::pair<std::string, std::string>> want = {
      {"Data", "value"}, {"List", "a"}, {"List", "b"}};
  EXPECT_EQ(out, want);
}

}  // namespace
}  // namespace mimamori::hunt
