// Prints which Sigma rules fire on which records of the corpus's event logs: every rule of the
// SigmaHQ folders loaded into one set, every record of every .evtx (the regression cases and the
// parser samples). Built twice, with the Vectorscan and with the portable (PCRE2) match backend;
// the `sigma_backends_agree` test compares the two outputs line by line.
//   corpus_hits CORPUS_DIR OUT_FILE
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mimamori/evtx/evtx.h"
#include "mimamori/sigma/rules.h"

namespace fs = std::filesystem;
using namespace mimamori;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: corpus_hits CORPUS_DIR OUT_FILE\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  sigma::RuleSet rules;
  for (const char* dir : {"rules", "rules-emerging-threats", "rules-threat-hunting"})
    rules.load_path((corpus / "sigma" / dir).string());
  if (auto st = rules.compile(); !st.ok()) {
    std::fprintf(stderr, "corpus_hits: compile failed: %s\n", st.error().message.c_str());
    return 1;
  }
  std::vector<fs::path> logs;
  for (const char* dir : {"sigma/regression_data", "evtx-parser-samples"})
    for (const auto& e : fs::recursive_directory_iterator(corpus / dir))
      if (e.is_regular_file() && e.path().extension() == ".evtx") logs.push_back(e.path());
  std::sort(logs.begin(), logs.end());

  std::vector<std::string> lines;
  sigma::Matcher matcher(rules);
  std::vector<sigma::FieldView> view;
  std::vector<uint32_t> hits;
  std::size_t records = 0;
  for (const auto& log : logs) {
    auto file = evtx::EvtxFile::open(log.string());
    if (!file.ok()) continue;
    const std::string name = fs::relative(log, corpus).generic_string();
    file->read(
        [&](const evtx::EvtxRecord& r) {
          ++records;
          view.clear();
          for (const auto& f : r.fields()) view.push_back(sigma::FieldView{f.name, f.value});
          hits.clear();
          matcher.match(view, hits);
          for (uint32_t h : hits)
            lines.push_back(name + " " + std::to_string(r.file_offset) + " " + rules.rules()[h].id +
                            " " + rules.rules()[h].file);
        },
        {});
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  std::ofstream out(argv[2]);
  for (const auto& l : lines) out << l << '\n';
  std::printf("corpus_hits: %zu rules (%zu not loaded), %zu logs, %zu records, %zu hits\n",
              rules.rules().size(), rules.errors().size(), logs.size(), records, lines.size());
  return out ? 0 : 1;
}
