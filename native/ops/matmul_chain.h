#pragma once

#include <napi.h>

namespace genius {
void InitMatmulChain(Napi::Env env, Napi::Object exports);
}
