module example.com/tidesvc

go 1.19
