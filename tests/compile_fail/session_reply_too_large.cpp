// expect: the reply type is larger than ReplyBytesMax
// A typed reply is checked against the session table's reply bound at
// compile time (paxos/sm/sessions.hpp).
#include <paxos/sm/sessions.hpp>

#include <array>

struct big_reply {
    std::array<char, 64> text;
};

int main() {
    paxos::sm::session_table<4, 16> table;
    const auto id = table.register_client(paxos::slot_id{0}).client;
    (void)table.decide(id, 1, paxos::slot_id{1});
    return table.save_reply(id, big_reply{}) == paxos::sm::reply_status::ok ? 0 : 1;
}
