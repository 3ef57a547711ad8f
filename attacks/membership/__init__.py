"""Membership inference attacks: each implements ``scores()``; the family base measures the rest.

The base and its helpers live in :mod:`attacks.membership.base`; the names a new attack needs are
re-exported here.
"""

from attacks.membership.base import (
    FPRS,
    AucTolerance,
    MembershipAttack,
    MembershipScores,
    ShadowCount,
    train_shadows,
)

__all__ = ["FPRS", "AucTolerance", "MembershipAttack", "MembershipScores", "ShadowCount", "train_shadows"]
