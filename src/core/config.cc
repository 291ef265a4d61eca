#include "mimamori/core/config.h"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>

namespace mimamori::core {

struct Config::Impl {
  std::string source;
  YAML::Node root{YAML::NodeType::Map};
  std::vector<std::string> overridden;  // keys given with --set, for error messages
};

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    parts.emplace_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

// Walks to `path`; returns an undefined node when any part is missing.
YAML::Node lookup(const YAML::Node& root, std::string_view path) {
  YAML::Node node = root;  // yaml-cpp nodes are handles; reassigning rebinds
  for (const auto& part : split_path(path)) {
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = node[part];
    if (!next.IsDefined()) return next;
    node.reset(next);
  }
  return node;
}

std::string where(const Config::Impl& impl, const YAML::Node& node, std::string_view path) {
  for (const auto& o : impl.overridden) {
    if (o == path) return fmt::format("--set {}", path);
  }
  const auto mark = node.Mark();
  if (mark.line >= 0) {
    return fmt::format("{}:{}:{}: key '{}'", impl.source, mark.line + 1, mark.column + 1, path);
  }
  return fmt::format("{}: key '{}'", impl.source, path);
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, double>) return "a number";
  if constexpr (std::is_unsigned_v<T>) return "a non-negative integer";
  if constexpr (std::is_integral_v<T>) return "an integer";
  return "a list of strings";
}

template <class T>
T convert(const Config::Impl& impl, const YAML::Node& node, std::string_view path) {
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (node.IsScalar()) return {node.Scalar()};
    if (!node.IsSequence()) {
      throw ConfigError(fmt::format("{}: expected {}", where(impl, node, path), type_name<T>()));
    }
    T out;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        throw ConfigError(fmt::format("{}: expected {}", where(impl, item, path), type_name<T>()));
      }
      out.push_back(item.Scalar());
    }
    return out;
  } else {
    if (!node.IsScalar()) {
      throw ConfigError(fmt::format("{}: expected {}", where(impl, node, path), type_name<T>()));
    }
    try {
      if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
        if (!node.Scalar().empty() && node.Scalar()[0] == '-') throw YAML::BadConversion({});
      }
      return node.as<T>();
    } catch (const YAML::Exception&) {
      throw ConfigError(fmt::format("{}: expected {}, got '{}'", where(impl, node, path),
                                    type_name<T>(), node.Scalar()));
    }
  }
}

}  // namespace

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;

Config Config::load_file(const std::filesystem::path& path) {
  Config c;
  c.impl_->source = path.string();
  try {
    c.impl_->root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    throw ConfigError(fmt::format("{}: cannot open the configuration file", path.string()));
  } catch (const YAML::Exception& e) {
    throw ConfigError(
        fmt::format("{}:{}:{}: {}", path.string(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (c.impl_->root.IsNull()) c.impl_->root = YAML::Node(YAML::NodeType::Map);
  if (!c.impl_->root.IsMap()) {
    throw ConfigError(fmt::format("{}: the top level must be a map of keys", path.string()));
  }
  return c;
}

Config Config::from_string(std::string_view text, std::string source) {
  Config c;
  c.impl_->source = std::move(source);
  try {
    c.impl_->root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(
        fmt::format("{}:{}:{}: {}", c.impl_->source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (c.impl_->root.IsNull()) c.impl_->root = YAML::Node(YAML::NodeType::Map);
  if (!c.impl_->root.IsMap()) {
    throw ConfigError(fmt::format("{}: the top level must be a map of keys", c.impl_->source));
  }
  return c;
}

void Config::set(std::string_view assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw ConfigError(fmt::format("--set '{}': expected key=value", assignment));
  }
  std::string_view path = assignment.substr(0, eq);
  std::string value(assignment.substr(eq + 1));
  auto parts = split_path(path);
  YAML::Node node = impl_->root;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) throw ConfigError(fmt::format("--set '{}': empty key part", assignment));
    if (i + 1 == parts.size()) {
      node[parts[i]] = value;
    } else {
      YAML::Node next = node[parts[i]];
      if (!next.IsDefined() || !next.IsMap()) {
        node[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next = node[parts[i]];
      }
      node.reset(next);
    }
  }
  impl_->overridden.emplace_back(path);
}

const std::string& Config::source() const { return impl_->source; }

bool Config::has(std::string_view path) const {
  YAML::Node n = lookup(impl_->root, path);
  return n.IsDefined() && !n.IsNull();
}

template <class T>
T Config::get(std::string_view path, T fallback) const {
  YAML::Node n = lookup(impl_->root, path);
  if (!n.IsDefined() || n.IsNull()) return fallback;
  return convert<T>(*impl_, n, path);
}

template <class T>
T Config::require(std::string_view path) const {
  YAML::Node n = lookup(impl_->root, path);
  if (!n.IsDefined() || n.IsNull()) {
    throw ConfigError(fmt::format("{}: key '{}' is required but missing", impl_->source, path));
  }
  return convert<T>(*impl_, n, path);
}

std::vector<std::string> Config::keys(std::string_view path) const {
  YAML::Node n = path.empty() ? impl_->root : lookup(impl_->root, path);
  if (!n.IsDefined() || n.IsNull()) return {};
  if (!n.IsMap()) throw ConfigError(fmt::format("{}: expected a map", where(*impl_, n, path)));
  std::vector<std::string> out;
  for (const auto& kv : n) out.push_back(kv.first.as<std::string>());
  return out;
}

std::size_t Config::size(std::string_view path) const {
  YAML::Node n = lookup(impl_->root, path);
  return n.IsDefined() && n.IsSequence() ? n.size() : 0;
}

std::vector<std::string> Config::list(std::string_view path,
                                      const std::vector<std::string>& fallback) const {
  std::vector<std::string> out;
  for (const auto& item : get<std::vector<std::string>>(path, fallback)) {
    std::string_view rest = item;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view t = rest.substr(0, comma);
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
      while (!t.empty() && (t.front() == ' ' || t.front() == '[')) t.remove_prefix(1);
      while (!t.empty() && (t.back() == ' ' || t.back() == ']')) t.remove_suffix(1);
      if (t.empty())
        throw ConfigError(fmt::format("{}: {}: an empty item in '{}'", impl_->source, path, item));
      out.emplace_back(t);
    }
  }
  return out;
}

uint64_t Config::byte_size(std::string_view path, uint64_t fallback, uint64_t max) const {
  if (!has(path)) return fallback;
  auto text = get<std::string>(path, "");
  std::size_t i = 0;
  uint64_t v = 0;
  bool overflow = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (v > (UINT64_MAX - 9) / 10) overflow = true;
    v = v * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  std::string unit;
  for (; i < text.size(); ++i)
    if (text[i] != ' ') unit.push_back(static_cast<char>(std::tolower(text[i])));
  uint64_t mult = unit.empty() || unit == "b"                    ? 1
                  : unit == "kb" || unit == "k" || unit == "kib" ? 1024
                  : unit == "mb" || unit == "m" || unit == "mib" ? 1024 * 1024
                  : unit == "gb" || unit == "g" || unit == "gib" ? 1024ull * 1024 * 1024
                                                                 : 0;
  if (mult == 0 || text.empty() || !(text[0] >= '0' && text[0] <= '9'))
    throw ConfigError(
        fmt::format("{}: {}: expected a size (a number, optionally with kb, mb or gb), got '{}'",
                    impl_->source, path, text));
  if (overflow || v > max / mult)
    throw ConfigError(fmt::format("{}: {}: '{}' is more than the largest allowed, {} bytes",
                                  impl_->source, path, text, max));
  return v * mult;
}

#define MIMAMORI_CONFIG_TYPE(T)                         \
  template T Config::get<T>(std::string_view, T) const; \
  template T Config::require<T>(std::string_view) const;
MIMAMORI_CONFIG_TYPE(std::string)
MIMAMORI_CONFIG_TYPE(bool)
MIMAMORI_CONFIG_TYPE(int)
MIMAMORI_CONFIG_TYPE(unsigned)
MIMAMORI_CONFIG_TYPE(long)
MIMAMORI_CONFIG_TYPE(unsigned long)
MIMAMORI_CONFIG_TYPE(long long)
MIMAMORI_CONFIG_TYPE(unsigned long long)
MIMAMORI_CONFIG_TYPE(double)
MIMAMORI_CONFIG_TYPE(std::vector<std::string>)
#undef MIMAMORI_CONFIG_TYPE

}  // namespace mimamori::core
