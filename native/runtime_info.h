#pragma once

#include <napi.h>

namespace genius {
void InitRuntimeInfo(Napi::Env env, Napi::Object exports);
}
