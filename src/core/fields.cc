#include "mimamori/core/fields.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "mimamori/core/assert.h"

namespace mimamori::core {

std::optional<int64_t> FieldValue::as_int() const {
  switch (kind) {
    case ValueKind::kInt:
      return i;
    case ValueKind::kUint:
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    case ValueKind::kDouble:
      if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return std::nullopt;
      return static_cast<int64_t>(d);
    default:
      return std::nullopt;
  }
}

std::optional<double> FieldValue::as_double() const {
  switch (kind) {
    case ValueKind::kInt:
      return static_cast<double>(i);
    case ValueKind::kUint:
      return static_cast<double>(u);
    case ValueKind::kDouble:
      return d;
    default:
      return std::nullopt;
  }
}

uint32_t Fields::store(std::string_view bytes) {
  MIMAMORI_ASSERT(arena_.size() + bytes.size() < std::numeric_limits<uint32_t>::max(),
                  "Fields arena over 4 GiB");
  auto off = static_cast<uint32_t>(arena_.size());
  arena_.append(bytes);
  return off;
}

Fields::Node& Fields::push(ValueKind kind, std::string_view key) {
  Node& n = nodes_.emplace_back();
  n.kind = kind;
  n.key_off = store(key);
  n.key_len = static_cast<uint32_t>(key.size());
  return n;
}

Fields& Fields::add(std::string_view key, std::string_view value) {
  // Store the key first, then the value; push() stores the key.
  Node& n = push(ValueKind::kString, key);
  n.str_off = store(value);
  n.str_len = static_cast<uint32_t>(value.size());
  return *this;
}

Fields& Fields::add(std::string_view key, bool value) {
  push(ValueKind::kBool, key).b = value;
  return *this;
}

Fields& Fields::add(std::string_view key, double value) {
  push(ValueKind::kDouble, key).d = value;
  return *this;
}

Fields& Fields::add_null(std::string_view key) {
  push(ValueKind::kNull, key);
  return *this;
}

Fields& Fields::add_int(std::string_view key, int64_t value) {
  // One representation per number, so that a value read back from JSON compares equal.
  if (value >= 0) return add_uint(key, static_cast<uint64_t>(value));
  push(ValueKind::kInt, key).i = value;
  return *this;
}

Fields& Fields::add_uint(std::string_view key, uint64_t value) {
  push(ValueKind::kUint, key).u = value;
  return *this;
}

Fields& Fields::begin_object(std::string_view key) {
  push(ValueKind::kObject, key);
  open_.push_back(static_cast<uint32_t>(nodes_.size() - 1));
  return *this;
}

Fields& Fields::begin_array(std::string_view key) {
  push(ValueKind::kArray, key);
  open_.push_back(static_cast<uint32_t>(nodes_.size() - 1));
  return *this;
}

Fields& Fields::end() {
  MIMAMORI_ASSERT(!open_.empty(), "Fields::end() without begin");
  nodes_[open_.back()].end = static_cast<uint32_t>(nodes_.size());
  open_.pop_back();
  return *this;
}

Fields& Fields::append(const Fields& other) {
  MIMAMORI_ASSERT(&other != this, "Fields::append from itself");
  const auto& nodes = other.nodes_;
  std::vector<uint32_t> ends;  // open containers of `other`, by their end index
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    while (!ends.empty() && ends.back() == i) {
      end();
      ends.pop_back();
    }
    const Node& n = nodes[i];
    std::string_view k = other.key_of(n);
    switch (n.kind) {
      case ValueKind::kObject:
        begin_object(k);
        ends.push_back(n.end);
        break;
      case ValueKind::kArray:
        begin_array(k);
        ends.push_back(n.end);
        break;
      case ValueKind::kString:
        add(k, other.str_of(n));
        break;
      case ValueKind::kBool:
        add(k, n.b);
        break;
      case ValueKind::kInt:
        add_int(k, n.i);
        break;
      case ValueKind::kUint:
        add_uint(k, n.u);
        break;
      case ValueKind::kDouble:
        add(k, n.d);
        break;
      case ValueKind::kNull:
        add_null(k);
        break;
    }
  }
  for (; !ends.empty(); ends.pop_back()) end();
  return *this;
}

void Fields::clear() {
  nodes_.clear();
  arena_.clear();
  open_.clear();
}

FieldValue Fields::value_at(uint32_t index) const {
  const Node& n = nodes_[index];
  FieldValue v;
  v.kind = n.kind;
  v.index = index;
  switch (n.kind) {
    case ValueKind::kString:
      v.str = str_of(n);
      break;
    case ValueKind::kInt:
      v.i = n.i;
      break;
    case ValueKind::kUint:
      v.u = n.u;
      break;
    case ValueKind::kDouble:
      v.d = n.d;
      break;
    case ValueKind::kBool:
      v.b = n.b;
      break;
    default:
      break;
  }
  return v;
}

std::optional<FieldValue> Fields::find(std::string_view path) const {
  uint32_t begin = 0;
  auto end = static_cast<uint32_t>(nodes_.size());
  bool in_array = false;
  while (true) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    std::optional<uint32_t> found;
    if (in_array) {
      uint32_t want = 0;
      auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), want);
      if (ec != std::errc() || p != part.data() + part.size()) return std::nullopt;
      uint32_t k = 0;
      for (uint32_t i = begin; i < end; ++k) {
        if (k == want) {
          found = i;
          break;
        }
        const Node& n = nodes_[i];
        i = (n.kind == ValueKind::kObject || n.kind == ValueKind::kArray) ? n.end : i + 1;
      }
    } else {
      for (uint32_t i = begin; i < end;) {
        const Node& n = nodes_[i];
        if (key_of(n) == part) {
          found = i;
          break;
        }
        i = (n.kind == ValueKind::kObject || n.kind == ValueKind::kArray) ? n.end : i + 1;
      }
    }
    if (!found) return std::nullopt;
    if (dot == std::string_view::npos) return value_at(*found);
    const Node& n = nodes_[*found];
    if (n.kind != ValueKind::kObject && n.kind != ValueKind::kArray) return std::nullopt;
    in_array = n.kind == ValueKind::kArray;
    begin = *found + 1;
    end = n.end;
    path.remove_prefix(dot + 1);
  }
}

std::string_view Fields::find_string(std::string_view path) const {
  auto v = find(path);
  return v && v->kind == ValueKind::kString ? v->str : std::string_view{};
}

bool Fields::operator==(const Fields& o) const {
  if (nodes_.size() != o.nodes_.size()) return false;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& a = nodes_[i];
    const Node& b = o.nodes_[i];
    if (a.kind != b.kind || key_of(a) != o.key_of(b)) return false;
    switch (a.kind) {
      case ValueKind::kString:
        if (str_of(a) != o.str_of(b)) return false;
        break;
      case ValueKind::kInt:
        if (a.i != b.i) return false;
        break;
      case ValueKind::kUint:
        if (a.u != b.u) return false;
        break;
      case ValueKind::kDouble:
        if (!(a.d == b.d) && !(std::isnan(a.d) && std::isnan(b.d))) return false;
        break;
      case ValueKind::kBool:
        if (a.b != b.b) return false;
        break;
      case ValueKind::kObject:
      case ValueKind::kArray:
        if (a.end - i != b.end - i) return false;
        break;
      case ValueKind::kNull:
        break;
    }
  }
  return true;
}

}  // namespace mimamori::core
