#include "js/torch_thread.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>

namespace genius::js {

namespace {

class TorchThread {
 public:
  TorchThread() : thread_([this] { Serve(); }) { thread_.detach(); }

  void Run(const std::function<void()>& work) {
    std::packaged_task<void()> task(work);
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    done.get();
  }

 private:
  void Serve() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  std::thread thread_;  // detached: it serves until the process exits
};

}  // namespace

void RunOnTorchThread(const std::function<void()>& work) {
  static TorchThread* torchThread = new TorchThread();  // never destroyed: its thread outlives static teardown
  torchThread->Run(work);
}

}  // namespace genius::js
