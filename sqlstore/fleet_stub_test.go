package sqlstore_test

const helperEnv = "SQLSTORE_FLEET"
