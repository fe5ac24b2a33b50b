import SVirtHook
