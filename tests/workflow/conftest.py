from tests.workflow.fixtures import *  # noqa: F403
