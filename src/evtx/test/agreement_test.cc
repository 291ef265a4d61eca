// Decoding agreement: for every Sigma regression case, our decoding of the .evtx must equal the
// reference decoding (.json beside it), field for field. Prints the per-field agreement.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"
#include "mimamori/evtx/evtx.h"

namespace mimamori::evtx {
namespace {

namespace fs = std::filesystem;
using core::Fields;
using core::ValueKind;

// Flattens a Fields tree to `path -> typed text` ("s:" strings, "n:" numbers, "b:", "null").
void flatten(const Fields& f, uint32_t begin, uint32_t end, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  const auto& nodes = f.nodes();
  uint32_t i = begin;
  int index = 0;
  while (i < end) {
    const auto& n = nodes[i];
    std::string key = n.key_len ? std::string(f.key_of(n)) : fmt::format("{}", index);
    std::string path = prefix.empty() ? key : prefix + "/" + key;
    ++index;
    auto v = f.value_at(i);
    switch (n.kind) {
      case ValueKind::kObject:
      case ValueKind::kArray:
        flatten(f, i + 1, n.end, path, out);
        i = n.end;
        continue;
      case ValueKind::kString:
        out[path] = "s:" + std::string(v.str);
        break;
      case ValueKind::kNull:
        out[path] = "null";
        break;
      case ValueKind::kBool:
        out[path] = v.b ? "b:true" : "b:false";
        break;
      default:
        out[path] = fmt::format("n:{}", v.as_double().value_or(0));
        break;
    }
    ++i;
  }
}

// Differences that are in the reference data itself, each with the reason. Keyed by the case
// folder name and the field path.
const std::map<std::pair<std::string, std::string>, std::string> kExplained = {
    {{"proc_creation_win_susp_right_to_left_override",
      "Event/System/TimeCreated/#attributes/SystemTime"},
     "the reference shows 100 ns digits (…751156500Z) where every other reference file shows "
     "microseconds; the reference was not decoded by the same tool as the others"},
    {{"proc_creation_win_susp_right_to_left_override", "Event/EventData/ParentCommandLine"},
     "the file holds 'C:\\Windows\\Explorer.EXE'; the reference says 'Explorer.exe' (edited)"},
};

TEST(EvtxAgreement, RegressionCasesMatchReferenceDecoding) {
  fs::path root = fs::path(MIMAMORI_CORPUS_DIR) / "sigma" / "regression_data";
  if (!fs::exists(root)) GTEST_SKIP() << "corpus not present: " << root;
  uint64_t cases = 0, fields = 0, agree = 0, explained = 0, records = 0;
  std::vector<std::string> unexplained;
  std::string json;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".evtx") continue;
    fs::path ref_path = entry.path();
    ref_path.replace_extension(".json");
    std::ifstream in(ref_path);
    ASSERT_TRUE(in) << ref_path;
    std::stringstream ss;
    ss << in.rdbuf();
    ++cases;
    std::string case_name = entry.path().parent_path().filename().string();

    // Ours, by EventRecordID.
    std::map<std::string, std::map<std::string, std::string>> ours;
    auto file = EvtxFile::open(entry.path().string());
    ASSERT_TRUE(file.ok()) << file.error().message;
    file->read(
        [&](const EvtxRecord& r) {
          json.clear();
          r.append_json(json);
          Fields f;
          auto st = core::parse_json_object(json, f);
          ASSERT_TRUE(st.ok()) << entry.path() << ": our JSON does not parse: " << json;
          std::map<std::string, std::string> flat;
          flatten(f, 0, static_cast<uint32_t>(f.nodes().size()), "", flat);
          ours[flat["Event/System/EventRecordID"]] = std::move(flat);
        },
        [&](const EvtxProblem& p) {
          ADD_FAILURE() << p.file << ":" << p.offset << ": " << p.what;
        });

    const std::string reference = ss.str();
    for (std::string_view text : core::split_json_objects(reference)) {
      Fields f;
      ASSERT_TRUE(core::parse_json_object(text, f).ok()) << ref_path;
      std::map<std::string, std::string> ref;
      flatten(f, 0, static_cast<uint32_t>(f.nodes().size()), "", ref);
      ++records;
      auto it = ours.find(ref["Event/System/EventRecordID"]);
      const std::map<std::string, std::string> empty;
      const auto& mine = it == ours.end() ? empty : it->second;
      for (const auto& [path, value] : ref) {
        ++fields;
        auto m = mine.find(path);
        if (m != mine.end() && m->second == value) {
          ++agree;
        } else if (kExplained.count({case_name, path})) {
          ++explained;
        } else {
          unexplained.push_back(fmt::format("{}: {}: reference {} ours {}", case_name, path, value,
                                            m == mine.end() ? "<absent>" : m->second));
        }
      }
      for (const auto& [path, value] : mine)
        if (!ref.count(path))
          unexplained.push_back(
              fmt::format("{}: {}: not in the reference (ours {})", case_name, path, value));
    }
  }
  std::printf(
      "decoding agreement: %llu cases, %llu records, %llu/%llu fields equal (%.3f%%), "
      "%llu explained differences, %zu unexplained\n",
      (unsigned long long)cases, (unsigned long long)records, (unsigned long long)agree,
      (unsigned long long)fields, fields ? 100.0 * agree / fields : 0.0,
      (unsigned long long)explained, unexplained.size());
  EXPECT_EQ(cases, 202u);
  for (const auto& u : unexplained) ADD_FAILURE() << u;
  EXPECT_EQ(agree + explained, fields);
}

}  // namespace
}  // namespace mimamori::evtx
