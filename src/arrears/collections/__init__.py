"""Collections within the law: strategies (what to do when), jurisdiction policy packs (what may be done), and
the checks between them. Restrictions are not here: a strategy's restriction actions go through
:mod:`arrears.restrictions.registry`, the one owner of restrictions."""
