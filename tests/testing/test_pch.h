// Precompiled for every test binary: GoogleTest, nlohmann/json and the public headers that nearly every
// test includes. Parsing these once per binary instead of once per file is most of the test suite's
// header cost; a test still includes what it uses (this header is a build speed-up, not an API).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dotdo/cdc.h"
#include "dotdo/database.h"
#include "dotdo/status.h"
