// Role names as the API and the database spell them.

#include "mimamori/server/model.h"

#include <array>
#include <utility>

namespace mimamori::server {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 6> kRoles = {{
    {Role::kProviderAdmin, "provider_admin"},
    {Role::kAnalyst, "analyst"},
    {Role::kTechnician, "technician"},
    {Role::kDesk, "desk"},
    {Role::kCustomerAdmin, "customer_admin"},
    {Role::kCustomerUser, "customer_user"},
}};

}  // namespace

std::string_view role_name(Role role) {
  for (const auto& [r, n] : kRoles) {
    if (r == role) return n;
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  for (const auto& [r, n] : kRoles) {
    if (n == name) return r;
  }
  return std::nullopt;
}

bool is_provider_role(Role role) {
  return role == Role::kProviderAdmin || role == Role::kAnalyst || role == Role::kTechnician ||
         role == Role::kDesk;
}

}  // namespace mimamori::server
