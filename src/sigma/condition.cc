// The Sigma condition grammar: `and`, `or`, `not`, parentheses, `1 of X`, `all of X`, `them`,
// wildcards in selection names. Precedence: not > and > or.

#include <fmt/format.h>

#include <cctype>

#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

bool glob_match(std::string_view pat, std::string_view s) {
  // Only `*` is a wildcard in selection names.
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<Selection>& sels, std::vector<CondNode>& nodes)
      : text_(text), sels_(sels), nodes_(nodes) {
    tokenize();
  }

  core::Result<uint32_t> parse() {
    if (!error_.empty()) return core::Error{error_};
    if (tokens_.empty()) return core::make_error("empty condition");
    uint32_t root = parse_or();
    if (!error_.empty()) return core::Error{error_};
    if (pos_ != tokens_.size())
      return core::make_error("unexpected '{}' in condition", tokens_[pos_]);
    return root;
  }

 private:
  void tokenize() {
    std::size_t i = 0;
    while (i < text_.size()) {
      char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '(' || c == ')') {
        tokens_.emplace_back(1, c);
        ++i;
      } else if (c == '|') {
        error_ =
            "aggregation expressions ('| count() ...') are not supported; use a correlation rule";
        return;
      } else {
        std::size_t j = i;
        while (j < text_.size() && !std::isspace(static_cast<unsigned char>(text_[j])) &&
               text_[j] != '(' && text_[j] != ')')
          ++j;
        tokens_.emplace_back(text_.substr(i, j - i));
        i = j;
      }
    }
  }

  bool at(std::string_view t) const { return pos_ < tokens_.size() && tokens_[pos_] == t; }

  uint32_t add(CondNode n) {
    nodes_.push_back(std::move(n));
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  uint32_t parse_or() {
    uint32_t left = parse_and();
    if (!at("or")) return left;
    CondNode n{CondNode::kOr};
    n.kids.push_back(left);
    while (at("or") && error_.empty()) {
      ++pos_;
      n.kids.push_back(parse_and());
    }
    return add(std::move(n));
  }

  uint32_t parse_and() {
    uint32_t left = parse_not();
    if (!at("and")) return left;
    CondNode n{CondNode::kAnd};
    n.kids.push_back(left);
    while (at("and") && error_.empty()) {
      ++pos_;
      n.kids.push_back(parse_not());
    }
    return add(std::move(n));
  }

  uint32_t parse_not() {
    if (at("not")) {
      ++pos_;
      CondNode n{CondNode::kNot};
      n.kids.push_back(parse_not());
      return add(std::move(n));
    }
    return parse_primary();
  }

  uint32_t fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    pos_ = tokens_.size();
    return add(CondNode{CondNode::kConst});
  }

  uint32_t parse_primary() {
    if (pos_ >= tokens_.size()) return fail("condition ends too early");
    std::string_view t = tokens_[pos_];
    if (t == "(") {
      ++pos_;
      uint32_t inner = parse_or();
      if (!at(")")) return fail("missing ')' in condition");
      ++pos_;
      return inner;
    }
    if (t == "and" || t == "or" || t == ")")
      return fail(fmt::format("unexpected '{}' in condition", t));
    // Quantifiers: `1 of X`, `all of X`, `N of X`.
    if (pos_ + 2 < tokens_.size() + 0 && tokens_[pos_ + 1] == "of") {
      std::string quant(t);
      std::string target(tokens_[pos_ + 2]);
      pos_ += 3;
      std::vector<uint32_t> refs;
      for (uint32_t i = 0; i < sels_.size(); ++i) {
        bool hit =
            target == "them" ? sels_[i].name.rfind('_', 0) != 0 : glob_match(target, sels_[i].name);
        if (hit) refs.push_back(i);
      }
      if (refs.empty()) return fail(fmt::format("'{} of {}' matches no selection", quant, target));
      CondNode n{quant == "all" ? CondNode::kAnd : CondNode::kOr};
      if (quant != "all" && quant != "1" && quant != "any") {
        return fail(fmt::format("'{} of' is not supported (only '1 of' and 'all of')", quant));
      }
      for (uint32_t r : refs) {
        CondNode s{CondNode::kSelection};
        s.selection = r;
        n.kids.push_back(add(std::move(s)));
      }
      return add(std::move(n));
    }
    ++pos_;
    for (uint32_t i = 0; i < sels_.size(); ++i) {
      if (sels_[i].name == t) {
        CondNode s{CondNode::kSelection};
        s.selection = i;
        return add(std::move(s));
      }
    }
    return fail(fmt::format("condition names '{}', which is not a selection", t));
  }

  std::string_view text_;
  const std::vector<Selection>& sels_;
  std::vector<CondNode>& nodes_;
  std::vector<std::string> tokens_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

core::Result<uint32_t> parse_condition(std::string_view text,
                                       const std::vector<Selection>& selections,
                                       std::vector<CondNode>& nodes) {
  Parser p(text, selections, nodes);
  return p.parse();
}

}  // namespace mimamori::sigma
