#include "codel.h"

#include <math.h>

void seb_codel_init(seb_codel *c, uint64_t target_ns, uint64_t interval_ns) {
  *c = (seb_codel){0};
  c->target_ns = target_ns;
  c->interval_ns = interval_ns;
}

/* The next drop comes interval/sqrt(count) after the previous one: the drop rate grows until the sender backs off. */
static uint64_t control_law(const seb_codel *c, uint64_t t) {
  return t + (uint64_t)((double)c->interval_ns / sqrt((double)c->count));
}

int seb_codel_decide(seb_codel *c, uint64_t now, uint64_t sojourn, int droppable) {
  if (c->target_ns == 0) return 0;
  int ok_to_drop = 0;
  if (sojourn < c->target_ns) {
    c->first_above = 0;
  } else if (c->first_above == 0) {
    c->first_above = now + c->interval_ns; /* above target: it becomes "standing" if it lasts an interval */
  } else if (now >= c->first_above) {
    ok_to_drop = 1;
  }
  if (c->dropping) {
    if (!ok_to_drop) {
      c->dropping = 0;
      return 0;
    }
    if (now < c->drop_next || !droppable) return 0;
    c->count++;
    c->drop_next = control_law(c, c->drop_next);
    return 1;
  }
  if (!ok_to_drop || !droppable) return 0;
  c->dropping = 1;
  /* Re-entering soon after the last dropping state: start near the drop rate that controlled the queue then. */
  uint32_t delta = c->count - c->lastcount;
  c->count = (delta > 1 && now - c->drop_next < 16 * c->interval_ns) ? delta : 1;
  c->lastcount = c->count;
  c->drop_next = control_law(c, now);
  return 1;
}
