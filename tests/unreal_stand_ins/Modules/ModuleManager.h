#pragma once
struct FDefaultModuleImpl {};
#define IMPLEMENT_MODULE(Impl, Name) static Impl Name##Module;
