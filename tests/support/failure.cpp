#include "support/failure.hpp"

#include <gtest/gtest.h>

namespace tandem::test {

void fail_at(const std::source_location& where, const std::string& message) {
  ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << message;
  throw HarnessAbort("test stopped by the harness after the failure reported above");
}

}  // namespace tandem::test
