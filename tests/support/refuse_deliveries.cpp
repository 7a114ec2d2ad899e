// refuse_deliveries PROFILE COUNT SECONDS: a partner system that cannot process what it is sent.
// Connects with the client profile, refuses (nacks, reason "cannot process") every delivery that
// arrives until it has refused COUNT or SECONDS have passed, then closes. Prints one line per
// refusal ("refused <message id> attempt <n>"). Exit 0 when COUNT were refused, 1 otherwise, 2 on
// a bad profile. For the inspector scenario (tests/integration/inspector_scenario.py): the
// `keten` CLI only acknowledges.
#include <chrono>
#include <iostream>
#include <string>

#include "adapters/sdk/client.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: refuse_deliveries PROFILE COUNT SECONDS\n";
    return 2;
  }
  auto profile = partner::load_profile(argv[1]);
  if (!profile) {
    std::cerr << profile.error().detail << "\n";
    return 2;
  }
  auto client = partner::Client::connect(*profile);
  if (!client) {
    std::cerr << client.error().detail << "\n";
    return 2;
  }
  const int wanted = std::stoi(argv[2]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::stoi(argv[3]));
  int refused = 0;
  while (refused < wanted && std::chrono::steady_clock::now() < deadline) {
    auto d = client->receive(std::chrono::milliseconds(200));
    if (!d) {
      std::cerr << d.error().detail << "\n";
      break;
    }
    if (!*d) continue;
    if (auto r = client->nack((*d)->delivery_id, "cannot process"); !r) {
      std::cerr << r.error().detail << "\n";
      break;
    }
    ++refused;
    std::cout << "refused " << (*d)->header.message_id << " attempt " << (*d)->attempt << std::endl;
  }
  client->close();
  return refused == wanted ? 0 : 1;
}
