#pragma once
// A numbered schema migration. Each store applies its list in order at start, each one in
// its own transaction together with its schema_migrations row; a version already recorded
// is skipped, and every statement is written to be idempotent as well (IF NOT EXISTS), so
// applying the list again is a no-op. Versions only ever get appended: a released
// migration is never edited.
#include <string_view>

namespace tandem::store {

struct Migration {
  int version = 0;
  std::string_view name;
  std::string_view sql;  // one or more statements separated by ';'
};

}  // namespace tandem::store
