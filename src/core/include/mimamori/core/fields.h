#pragma once
/// Fields: an ordered JSON-like tree (objects, arrays, scalars) stored flat in two buffers,
/// so that an Event reused for the next packet allocates nothing once it has grown.

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mimamori::core {

/// The kind of one node of a Fields tree.
enum class ValueKind : uint8_t { kNull, kBool, kInt, kUint, kDouble, kString, kObject, kArray };

/// A read-only view of one scalar (or the head of a container) in a Fields tree.
struct FieldValue {
  ValueKind kind = ValueKind::kNull;
  std::string_view str;  ///< for kString
  int64_t i = 0;         ///< for kInt
  uint64_t u = 0;        ///< for kUint
  double d = 0;          ///< for kDouble
  bool b = false;        ///< for kBool
  uint32_t index = 0;    ///< node index, for walking into containers

  bool is_number() const {
    return kind == ValueKind::kInt || kind == ValueKind::kUint || kind == ValueKind::kDouble;
  }
  /// The number as int64 (doubles truncated); nullopt if not a number or out of range.
  std::optional<int64_t> as_int() const;
  /// The number as double; nullopt if not a number.
  std::optional<double> as_double() const;
};

/// An ordered tree of named values. Inside an array, keys are empty.
class Fields {
 public:
  /// One node. Containers are followed by their children; `end` is one past the last child.
  struct Node {
    ValueKind kind = ValueKind::kNull;
    uint32_t key_off = 0, key_len = 0;
    uint32_t str_off = 0, str_len = 0;  ///< kString
    uint32_t end = 0;                   ///< kObject/kArray: index one past the subtree
    union {
      int64_t i;
      uint64_t u;
      double d;
      bool b;
    };
    Node() : i(0) {}
  };

  /// Adds a string (bytes; need not be UTF-8: the EVE writer escapes what is not).
  Fields& add(std::string_view key, std::string_view value);
  Fields& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Fields& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  Fields& add(std::string_view key, bool value);
  Fields& add(std::string_view key, double value);
  template <std::signed_integral T>
  Fields& add(std::string_view key, T value) {
    return add_int(key, static_cast<int64_t>(value));
  }
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) Fields& add(std::string_view key, T value) {
    return add_uint(key, static_cast<uint64_t>(value));
  }
  Fields& add_null(std::string_view key);
  Fields& add_int(std::string_view key, int64_t value);
  Fields& add_uint(std::string_view key, uint64_t value);

  /// Opens an object or array under `key` (empty key inside arrays); close it with end().
  Fields& begin_object(std::string_view key = {});
  Fields& begin_array(std::string_view key = {});
  Fields& end();

  /// Copies every top-level member of `other` (with its subtree) to the end of this tree.
  Fields& append(const Fields& other);

  /// Empties the tree, keeping its capacity.
  void clear();
  bool empty() const { return nodes_.empty(); }
  /// True when every begin_* has its end().
  bool balanced() const { return open_.empty(); }

  const std::vector<Node>& nodes() const { return nodes_; }
  std::string_view key_of(const Node& n) const { return {arena_.data() + n.key_off, n.key_len}; }
  std::string_view str_of(const Node& n) const { return {arena_.data() + n.str_off, n.str_len}; }
  /// The value of node `index`.
  FieldValue value_at(uint32_t index) const;

  /// Looks up a dotted path such as `dns.rrname` or `http.http_user_agent` through objects
  /// (array elements by number: `answers.0.rdata`). nullopt when absent.
  std::optional<FieldValue> find(std::string_view dotted_path) const;
  /// The string at a path, or empty if absent or not a string.
  std::string_view find_string(std::string_view dotted_path) const;

  /// Structural equality: same keys, values and order.
  bool operator==(const Fields& other) const;

 private:
  Node& push(ValueKind kind, std::string_view key);
  uint32_t store(std::string_view bytes);

  std::vector<Node> nodes_;
  std::string arena_;
  std::vector<uint32_t> open_;
};

}  // namespace mimamori::core
