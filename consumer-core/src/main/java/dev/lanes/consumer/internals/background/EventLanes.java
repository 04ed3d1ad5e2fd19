package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.shared.Lane;

/**
 * The two lanes from the application thread, as the loop drains them (R7): the system lane completely, the user
 * lane up to {@code userBudget} events per iteration, so that a flood of user calls cannot delay system work.
 *
 * @param system     close, rebalance-callback acknowledgements and other system work
 * @param user       the application's calls (bounded, R9)
 * @param userBudget how many user events one loop iteration takes at most
 */
record EventLanes(Lane system, Lane user, int userBudget) {
}
