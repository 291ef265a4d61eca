// The message catalogue of `mimamori hunt`: English and Japanese, one table, no text in code.

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "hunt.h"

namespace mimamori::cli::hunt {
namespace {

struct Text {
  std::string_view en, ja;
};

const std::unordered_map<std::string_view, Text>& catalogue() {
  static const std::unordered_map<std::string_view, Text> kTexts = {
      {"help.hunt",
       {"hunt Sigma detections in Windows event logs (.evtx) and JSON-lines exports",
        "Windows イベントログ (.evtx) と JSON-lines 出力から Sigma ルールで脅威を探す"}},
      {"help.paths",
       {"event log files or folders (.evtx, .json, .jsonl)",
        "イベントログのファイルまたはフォルダ (.evtx, .json, .jsonl)"}},
      {"help.rules",
       {"Sigma rule file or folder (repeatable)", "Sigma ルールのファイルまたはフォルダ (複数可)"}},
      {"help.min_level",
       {"lowest rule level shown: informational, low, medium, high, critical",
        "表示する最低レベル: informational, low, medium, high, critical"}},
      {"help.format",
       {"timeline format: csv, jsonl or table", "タイムラインの形式: csv, jsonl, table"}},
      {"help.output",
       {"write the timeline to FILE (the summary goes to the terminal)",
        "タイムラインを FILE に書く (サマリは端末に表示)"}},
      {"help.threads",
       {"worker threads (default: all cores)", "ワーカースレッド数 (既定: 全コア)"}},
      {"help.lang",
       {"language of the summary: ja or en (default: from the locale)",
        "サマリの言語: ja または en (既定: ロケールから)"}},
      {"help.dump",
       {"print decoded records instead of hunting: json, xml, fields, none (parse only)",
        "検知の代わりにデコードしたレコードを出力: json, xml, fields, none (解析のみ)"}},
      {"help.show_errors",
       {"list every rule that could not be loaded, with the reason",
        "読み込めなかったルールを理由とともにすべて表示"}},
      {"help.quiet", {"no summary and no progress bar", "サマリと進捗バーを表示しない"}},
      {"summary.title", {"Results summary", "結果サマリ"}},
      {"summary.rules", {"Rules loaded", "読み込んだルール"}},
      {"summary.rules_failed", {"Rules not loaded", "読み込めなかったルール"}},
      {"summary.files", {"Files scanned", "走査したファイル"}},
      {"summary.records", {"Records", "レコード数"}},
      {"summary.damaged",
       {"Damaged parts skipped (records / chunks)",
        "破損のため飛ばした箇所 (レコード / チャンク)"}},
      {"summary.speed", {"Time and speed", "所要時間と速度"}},
      {"summary.cpu",
       {"CPU time of the scan and speed per core", "走査の CPU 時間と 1 コアあたりの速度"}},
      {"help.no_cache",
       {"do not keep compiled rules in the cache folder (~/.cache/mimamori)",
        "コンパイル済みルールをキャッシュ (~/.cache/mimamori) に保存しない"}},
      {"help.placeholder",
       {"values of a %placeholder% used by 'expand' rules: NAME=VALUE[,VALUE...]",
        "'expand' ルールのプレースホルダの値: NAME=VALUE[,VALUE...]"}},
      {"summary.detections", {"Detections", "検知数"}},
      {"summary.by_level", {"Detections by level", "レベル別の検知数"}},
      {"summary.top_rules", {"Top rules", "検知の多いルール"}},
      {"summary.top_computers", {"Computers with most detections", "検知の多いコンピュータ"}},
      {"summary.first", {"First detection", "最初の検知"}},
      {"summary.last", {"Last detection", "最後の検知"}},
      {"summary.none", {"No detections.", "検知はありませんでした。"}},
      {"summary.unreadable", {"Inputs that could not be read", "読み込めなかった入力"}},
      {"level.critical", {"critical", "重大"}},
      {"level.high", {"high", "高"}},
      {"level.medium", {"medium", "中"}},
      {"level.low", {"low", "低"}},
      {"level.informational", {"informational", "情報"}},
      {"err.no_rules",
       {"no rules given: use --rules DIR",
        "ルールが指定されていません: --rules DIR を指定してください"}},
      {"err.no_rules_loaded",
       {"none of the given rules could be loaded (see --show-errors)",
        "指定されたルールを 1 つも読み込めませんでした (--show-errors で理由を表示)"}},
      {"err.no_inputs",
       {"no event logs found in the given paths", "指定されたパスにイベントログがありません"}},
  };
  return kTexts;
}

}  // namespace

std::string_view msg(Lang lang, std::string_view key) {
  auto it = catalogue().find(key);
  if (it == catalogue().end()) return key;
  return lang == Lang::kJa ? it->second.ja : it->second.en;
}

Lang default_lang() {
  for (const char* var : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* v = std::getenv(var);
    if (v && *v) return std::strncmp(v, "ja", 2) == 0 ? Lang::kJa : Lang::kEn;
  }
  return Lang::kEn;
}

}  // namespace mimamori::cli::hunt
