#pragma once
#include <thread>
#include "CoreMinimal.h"

enum class EAsyncExecution { Thread };
namespace ENamedThreads { enum Type { GameThread }; }
template <class F>
void Async(EAsyncExecution, F&& f) { std::thread(std::forward<F>(f)).detach(); }
template <class F>
void AsyncTask(ENamedThreads::Type, F&& f) { f(); }
